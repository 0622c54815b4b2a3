"""URLs of the case pages."""

from django.urls import path

from yizhan.cases import views

app_name = "cases"

urlpatterns = [
    path("services/items/<str:impl_code>/apply/", views.apply, name="apply"),
    path("my/cases/", views.mine, name="mine"),
    path("my/cases/<int:case_id>/", views.mine_detail, name="mine_detail"),
    path("my/cases/<int:case_id>/correct/", views.mine_correct, name="mine_correct"),
    path("my/cases/<int:case_id>/submit/", views.mine_submit, name="mine_submit"),
    path("my/cases/<int:case_id>/withdraw/", views.mine_withdraw, name="mine_withdraw"),
    path("my/cases/<int:case_id>/certificate/", views.certificate_download,
         name="certificate"),
    # The printable 补正材料通知书, for the applicant and the accepting agency's staff.
    path("cases/<int:case_id>/correction-notice/", views.correction_notice,
         name="correction_notice"),
    path("files/<int:file_id>/", views.material_download, name="file"),
    path("status/", views.status, name="status"),
    path("verify/<str:token>/", views.verify, name="verify"),
    path("workbench/apply/", views.window_items, name="window_items"),
    path("workbench/apply/<str:impl_code>/", views.window_apply, name="window_apply"),
    path("workbench/filed/<int:case_id>/", views.window_filed, name="window_filed"),
    path("workbench/window-drafts/", views.window_drafts, name="window_drafts"),
    path("workbench/cases/", views.agency_cases, name="agency_cases"),
    path("workbench/cases/<int:case_id>/", views.staff_case, name="staff_case"),
    # Before the case's other forms (case_action), whose pattern it would match.
    path("workbench/cases/<int:case_id>/correct/", views.staff_correct, name="staff_correct"),
    path("workbench/cases/<int:case_id>/<str:action>/", views.case_action, name="case_action"),
    path("workbench/tasks/<int:task_id>/", views.task_page, name="task"),
    path("workbench/tasks/<int:task_id>/<str:action>/", views.task_action, name="task_action"),
]
