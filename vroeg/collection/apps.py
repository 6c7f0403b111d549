from django.apps import AppConfig


class CollectionConfig(AppConfig):
    name = "vroeg.collection"
    label = "collection"
    verbose_name = "Incasso / Collection"
    default_auto_field = "django.db.models.BigAutoField"
