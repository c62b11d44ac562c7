from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "monitor.projects"
    label = "projects"
    verbose_name = "Projects and API keys"
