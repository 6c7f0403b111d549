from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "vroeg.portfolio"
    label = "portfolio"
    verbose_name = "Huurders en contracten / Tenants and tenancies"
    default_auto_field = "django.db.models.BigAutoField"
