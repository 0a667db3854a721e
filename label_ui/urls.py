from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.forms import ThrottledLoginForm
from label_ui import views

app_name = "label_ui"

urlpatterns = [
    path("", views.my_tasks, name="my-tasks"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="label_ui/login.html",
            authentication_form=ThrottledLoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="label_ui:login"), name="logout"),
    path("<str:project_id>/<str:task_id>/", views.label_page, name="label"),
    path("<str:project_id>/<str:task_id>/overview/", views.task_page, name="task"),
]
