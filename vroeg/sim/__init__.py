"""The tenant-population simulator: households and staff around the real daily run.

parameters.yaml holds every number and its source; behaviour.py the households (pure);
world.py the closed loop; kpis.py the collection KPIs; child.py one simulation in its
own process; report.py the HTML report with charts. `vroeg simulate` drives it.
"""
