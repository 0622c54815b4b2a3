"""URLs of the portal and the workbench."""

from django.urls import path

from yizhan.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("disclosure/", views.disclosure, name="disclosure"),
    path("participation/", views.participation, name="participation"),
    path("display/", views.display_settings, name="display"),
    path("accounts/login/", views.sign_in, name="login"),
    path("accounts/logout/", views.sign_out, name="logout"),
    path("accounts/register/", views.register, name="register"),
    path("accounts/", views.account, name="account"),
    path("accounts/password/", views.password_change, name="password_change"),
    path("accounts/password/reset/", views.password_reset, name="password_reset"),
    path("accounts/password/reset/<str:uidb64>/<str:token>/", views.password_reset_confirm,
         name="password_reset_confirm"),
    path("accounts/totp/", views.totp_setup, name="totp"),
    path("workbench/", views.workbench, name="workbench"),
    path("workbench/extensions/", views.workbench_extensions, name="workbench_extensions"),
    path("workbench/agency/", views.my_agency, name="my_agency"),
    path("workbench/agency/posts/<int:post_id>/staff/", views.my_agency_post_staff,
         name="my_agency_post_staff"),
    path("workbench/agency/posts/<int:post_id>/staff/<int:user_id>/unpost/",
         views.my_agency_unpost_staff, name="my_agency_unpost_staff"),
    path("workbench/agency/staff/<int:user_id>/totp/", views.my_agency_totp_reset,
         name="my_agency_totp_reset"),
    path("workbench/audit/", views.audit_search, name="audit_search"),
]
