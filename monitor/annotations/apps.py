from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "monitor.annotations"
    label = "annotations"
    verbose_name = "Annotations"
