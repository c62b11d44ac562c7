from django.apps import AppConfig


class RollupsConfig(AppConfig):
    name = "monitor.rollups"
    label = "rollups"
    verbose_name = "Rollups"
