"""The stock drills: the stock features bound to the stock steps.

``drdrill run full|partial`` hands this file to pytest. It is not named ``test_*`` so
that pytest only collects it when asked to.
"""

from pytest_bdd import scenarios

from drdrill.stock import feature_files

scenarios(*(str(path) for path in feature_files()))
