"""Meta-features of a dataset: OpenML data qualities plus metaopt's ``mo_`` extras.

>>> from metaopt.features import extract_meta_features
>>> mf = extract_meta_features(df, target="class")          # doctest: +SKIP
>>> mf["ClassEntropy"], mf.timings["statistical"]           # doctest: +SKIP

See ``docs/meta_features.md`` for every name and definition.
"""

from metaopt.features._extract import GROUPS, MetaFeatures, extract_meta_features

__all__ = ["extract_meta_features", "MetaFeatures", "GROUPS"]
