from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("p/<slug:slug>/", views.overview_view, name="overview"),
    path("p/<slug:slug>/tiers/", views.tiers_view, name="tiers"),
    path("p/<slug:slug>/compare/", views.compare_view, name="compare"),
    path("p/<slug:slug>/detail/", views.detail_view, name="detail"),
    path("p/<slug:slug>/annotations/", views.add_annotation, name="add-annotation"),
]
