from django.apps import AppConfig


class SimConfig(AppConfig):
    name = "vroeg.sim"
    label = "sim"
    verbose_name = "Simulatie / Simulation"
