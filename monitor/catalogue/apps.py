from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "monitor.catalogue"
    label = "catalogue"
    verbose_name = "Tier catalogue, model versions, prices and series"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the new-project seeding)
