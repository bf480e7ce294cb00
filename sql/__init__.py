"""The SQL of csqa, installed as the package ``csqa.sql``: the files are read with importlib.resources
(see pipeline/model/warehouse.py), so they are found the same way in a checkout and in an installed wheel."""
