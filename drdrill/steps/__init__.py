"""The stock step definitions, by domain; the pytest plugin (``drdrill.pytest_plugin``)
registers every module here, so any project's features can use them."""
