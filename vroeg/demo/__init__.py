"""The bundled demo corporation: a reproducible, fictitious portfolio of tenancies with a
year of payment history, delivered as the files a housing ERP and a bank would deliver.

- :mod:`vroeg.demo.population`: pure generation (seeded, no Django, no I/O).
- :mod:`vroeg.demo.build`: statements and files (tenancies.csv, camt.053) in a folder.
- ``vroeg demo``: writes them into the inbox and runs the daily job over them.
"""
