from django.apps import AppConfig


class LabelUiConfig(AppConfig):
    name = "label_ui"
    verbose_name = "Labeling pages"
