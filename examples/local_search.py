"""A user's own searcher, run beside the built-ins:

    bench compare --algorithms random,tpe,examples.local_search:LocalSearch

Half the time a random config; otherwise the best config seen so far, nudged in the unit cube.
"""

import numpy as np

from hpo.searchers import Searcher


class LocalSearch(Searcher):
    def propose(self, trial_id):
        if not self.observations or self.rng.random() < 0.5:
            return self.random_config()
        best = min(self.observations, key=lambda seen: seen.error).config
        point = self.space.to_unit(best) + self.rng.normal(0, 0.1, self.space.dim)
        return self.space.from_unit(np.clip(point, 0, 1))
