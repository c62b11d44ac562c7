from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "monitor.ingest"
    label = "ingest"
    verbose_name = "Ingest"
