"""The pages and form posts of the labeling admin.

Each view checks the caller as the API does (``labeling.admin_access`` over ``labeling.rules``), calls the
same service as the API and reports a refusal or a workflow error as an admin message, leaving the data as it
was; no view answers a 500 for a refused action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from dds_site.errors import DDSError
from labeling import admin_access, admin_display, admin_images, export, forms, rules, selectors, services
from labeling.models import LabelProject, LabelTask, WorkflowEvent
from labeling.workflow import Role


def project_url(project: LabelProject) -> str:
    return reverse("admin:labeling_labelproject_change", args=[project.pk])


def task_url(task: LabelTask) -> str:
    return reverse("admin:labeling_labeltask_change", args=[task.pk])


def attempt(request: HttpRequest, call: Callable[[], Any], success: str | Callable[[Any], str]) -> bool:
    """Run one checked service call; its ``DDSError`` (refusal or workflow rule) becomes an error message."""
    try:
        result = call()
    except DDSError as exc:
        messages.error(request, str(exc))
        return False
    messages.success(request, success(result) if callable(success) else success)
    return True


def form_errors_to_messages(request: HttpRequest, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label or field.replace("_", " ") if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label.capitalize()}: {error}" if label else error)


def page(
    modeladmin: admin.ModelAdmin, request: HttpRequest, template: str, *, title: str, **context: Any
) -> TemplateResponse:
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(
        request,
        template,
        {
            **modeladmin.admin_site.each_context(request),
            "opts": modeladmin.model._meta,
            "title": title,
            "subtitle": None,
            **context,
        },
    )


def form_page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    title: str,
    form,
    button: str,
    intro: str = "",
    project: LabelProject | None = None,
    danger: bool = False,
) -> TemplateResponse:
    return page(
        modeladmin,
        request,
        "admin/labeling/form_page.html",
        title=title,
        form=form,
        button=button,
        intro=intro,
        project=project,
        danger=danger,
        media=modeladmin.media + form.media,
    )


def _posted(request: HttpRequest):
    """The submitted data of a POST (even an empty one, which must still be validated), None for a GET."""
    return request.POST if request.method == "POST" else None


# --- projects -------------------------------------------------------------------------------------------------------


def project_create(modeladmin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    form = forms.ProjectCreateForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            admin_access.check(request.user, rules.require_create_project)
            project = services.project_create(
                name=form.validated["name"],
                owner=request.user,
                datasets=list(data["datasets"]),
                managers=list(data["managers"]),
                categories=form.validated["categories"],
                description=form.validated["description"],
                pre_label=form.validated["pre_label"],
            )
        except DDSError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Created project {project.name}. Next: initialise it into tasks.")
            return HttpResponseRedirect(project_url(project))
    return form_page(
        modeladmin,
        request,
        title="New label project",
        form=form,
        button="Create project",
        intro="You become the project's owner. The datasets are split into tasks when the project is initialised.",
    )


def project_overview(modeladmin: admin.ModelAdmin, request: HttpRequest, project: LabelProject) -> TemplateResponse:
    user = request.user
    tasks = list(admin_access.tasks_visible(user).filter(project_id=project.pk).order_by("idx"))
    roles = admin_display.roles_by_task(task.pk for task in tasks)
    rows = [
        {
            "task": task,
            "url": task_url(task),
            "dataset": dataset_name(project, task.dataset_id),
            "progress": admin_display.task_progress(task, roles.get(task.pk, [])),
            "label_leader": admin_display.team_text(roles.get(task.pk, []), Role.LABEL_LEADER),
            "review_leader": admin_display.team_text(roles.get(task.pk, []), Role.REVIEW_LEADER),
            "labelers": admin_display.team_text(roles.get(task.pk, []), Role.LABELER),
            "reviewers": admin_display.team_text(roles.get(task.pk, []), Role.REVIEWER),
        }
        for task in tasks
    ]
    may = {
        "init": admin_access.allowed(user, rules.require_init_project, project),
        "edit": admin_access.allowed(user, rules.require_edit_project, project),
        "qa": admin_access.allowed(user, rules.require_qa_project, project),
        "export": admin_access.allowed(user, rules.require_export_project, project),
        "leaders": admin_access.allowed(user, rules.require_assign_leader, project),
        "progress": admin_access.is_operator(user) or rules.can_view_progress(user, project.pk),
    }
    return page(
        modeladmin,
        request,
        "admin/labeling/labelproject/overview.html",
        title=project.name,
        project=project,
        original=project,
        rows=rows,
        may=may,
        progress=admin_display.project_progress(project),
        people=admin_display.people_progress(role for task_roles in roles.values() for role in task_roles)
        if may["progress"]
        else [],
        created=admin_display.ts_text(project.created_ts),
        owner=admin_display.names_text(project.owner),
        managers=admin_display.names_text(project.managers),
        datasets=admin_display.datasets_html(project.datasets),
        leaders_form=forms.LeadersForm(prefix="leaders") if may["leaders"] and tasks else None,
        has_delete_permission=modeladmin.has_delete_permission(request, project),
        history=_history(project=project),
    )


def dataset_name(project: LabelProject, dataset_id: str) -> str:
    return next((item.get("name") or dataset_id for item in project.datasets if item["id"] == dataset_id), dataset_id)


@dataclass(frozen=True)
class ProjectForm:
    """A project action behind a form: the rule it needs, the form, the page's words and the service it runs.

    ``title`` is formatted with the project's ``name``; ``intro`` and ``form_kwargs`` may depend on the project;
    ``run(project, form, actor)`` calls the service; ``success`` is the message (or makes it from the result).
    """

    ensure: Callable
    form_class: type
    title: str
    button: str
    intro: str | Callable[[LabelProject], str]
    run: Callable[[LabelProject, Any, Any], Any]
    success: str | Callable[[Any], str]
    form_kwargs: Callable[[LabelProject], dict] = lambda project: {}


PROJECT_FORMS: dict[str, ProjectForm] = {
    "init": ProjectForm(
        ensure=rules.require_init_project,
        form_class=forms.ProjectInitForm,
        title="Initialise {name}",
        button="Initialise",
        intro=lambda project: (
            f"Split the {len(project.datasets)} dataset(s) of this project into tasks. "
            "Labelers and reviewers are assigned per task afterwards."
        ),
        run=lambda project, form, actor: services.project_init(project=project, **form.validated, actor=actor),
        success=lambda done: f"Initialised {done.name}: {done.task_num_total} task(s).",
    ),
    "edit": ProjectForm(
        ensure=rules.require_edit_project,
        form_class=forms.ProjectEditForm,
        form_kwargs=lambda project: {
            "initial": {"description": project.description, "managers": [item["id"] for item in project.managers]}
        },
        title="Edit {name}",
        button="Save",
        intro="Only the owner changes the description and the managers.",
        run=lambda project, form, actor: services.project_edit(
            project=project,
            description=form.cleaned_data["description"],
            managers=list(form.cleaned_data["managers"]),
            actor=actor,
        ),
        success="Saved.",
    ),
    "qa": ProjectForm(
        ensure=rules.require_qa_project,
        form_class=forms.ProjectQAForm,
        title="Review {name}",
        button="Submit verdict",
        intro="Every task is accepted. Accept the project to export it, or reject it to reopen tasks for rework.",
        run=lambda project, form, actor: services.project_qa(
            project=project, action=form.cleaned_data["action"], actor=actor
        ),
        success=lambda done: f"{done.name} is now {done.status}.",
    ),
    "reopen": ProjectForm(
        ensure=rules.require_qa_project,
        form_class=forms.ProjectReopenForm,
        form_kwargs=lambda project: {"project": project},
        title="Reopen {name}",
        button="Reopen",
        intro=(
            "The project goes back to work; the chosen tasks become rejected so their label leaders can restart them."
        ),
        run=lambda project, form, actor: services.project_reopen(
            project=project, task_ids=[task.pk for task in form.cleaned_data["tasks"]] or None, actor=actor
        ),
        success=lambda done: f"{done.name} is working again.",
    ),
    "export": ProjectForm(
        ensure=rules.require_export_project,
        form_class=forms.ProjectExportForm,
        title="Export {name}",
        button="Export",
        intro="The accepted label of each image is written into its dataset as a label set.",
        run=lambda project, form, actor: export.project_export(
            project=project,
            label_set_name=form.validated["label_name"],
            label_type=form.validated["label_type"],
            actor=actor,
        ),
        success=lambda done: f"Exported {done.name} ({done.status}).",
    ),
}


def project_form(
    modeladmin: admin.ModelAdmin, request: HttpRequest, project: LabelProject, *, spec: ProjectForm
) -> HttpResponse:
    """A project action behind a form: refused callers go back to the project page with the API's message."""
    actor = admin_access.actor_for(request.user)
    try:
        admin_access.check(request.user, spec.ensure, project)
    except DDSError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(project_url(project))
    form = spec.form_class(_posted(request), **spec.form_kwargs(project))
    valid = request.method == "POST" and form.is_valid()
    if valid and attempt(request, lambda: spec.run(project, form, actor), spec.success):
        return HttpResponseRedirect(project_url(project))
    return form_page(
        modeladmin,
        request,
        title=spec.title.format(name=project.name),
        form=form,
        button=spec.button,
        intro=spec.intro(project) if callable(spec.intro) else spec.intro,
        project=project,
    )


# The project's form pages by URL name (``<pk>/<name>/``).
PROJECT_FORM_PAGES: dict[str, Callable] = {
    name: partial(project_form, spec=spec) for name, spec in PROJECT_FORMS.items()
}


def project_leaders(modeladmin, request, project: LabelProject) -> HttpResponse:
    """Set the label and/or review leader of the tasks ticked on the project page (the API's ``leaders``)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    back = HttpResponseRedirect(project_url(project))
    try:
        admin_access.check(request.user, rules.require_assign_leader, project)
    except DDSError as exc:
        messages.error(request, str(exc))
        return back
    form = forms.LeadersForm(request.POST, prefix="leaders")
    if not form.is_valid():
        form_errors_to_messages(request, form)
        return back
    tasks = list(LabelTask.objects.filter(project_id=project.pk, pk__in=request.POST.getlist("task")).order_by("idx"))
    if not tasks:
        messages.error(request, "Tick the tasks to staff first.")
        return back
    done = sum(_set_leaders(request, task, form.cleaned_data) for task in tasks)
    if done:
        messages.success(request, f"Set the leaders of {done} task(s).")
    return back


def _set_leaders(request: HttpRequest, task: LabelTask, data: dict) -> bool:
    actor = admin_access.actor_for(request.user)
    for role, key in ((Role.LABEL_LEADER, "label_leader"), (Role.REVIEW_LEADER, "review_leader")):
        user = data.get(key)
        if user is None:
            continue
        try:
            services.task_set_leader(task=task, user=user, role=role, actor=actor)
        except DDSError as exc:
            messages.error(request, f"Task {task.idx}: {exc}")
            return False
    return True


# --- tasks ------------------------------------------------------------------------------------------------------------


def task_overview(modeladmin: admin.ModelAdmin, request: HttpRequest, task: LabelTask) -> TemplateResponse:
    user = request.user
    project = task.project
    roles = admin_access.roles_visible(user, task)
    leads_labels = admin_access.allowed(user, rules.require_replace_worker, task, Role.LABELER)
    leads_reviews = admin_access.allowed(user, rules.require_replace_worker, task, Role.REVIEWER)
    # Workers are set once per role; later changes are replacements (as in the API).
    unstaffed = [
        role
        for role in (Role.LABELER, Role.REVIEWER)
        if admin_access.allowed(user, rules.require_init_workers, task, role)
    ]
    replace_form = forms.ReplaceForm(prefix="replace", task=task)
    may = {
        "leaders": admin_access.allowed(user, rules.require_assign_leader, project),
        "workers": bool(unstaffed),
        "replace": (leads_labels or leads_reviews) and len(replace_form.fields["worker"].choices) > 1,
        "restart": admin_access.allowed(user, rules.require_restart_task, task),
        "qa": admin_access.allowed(user, rules.require_qa_task, task),
    }
    after = _int_or_none(request.GET.get("after"))
    images = admin_images.task_image_page(task, after=after)
    current = {role.role: role.user_id for role in roles if role.role in (Role.LABEL_LEADER, Role.REVIEW_LEADER)}
    return page(
        modeladmin,
        request,
        "admin/labeling/labeltask/overview.html",
        title=f"Task {task.idx} of {project.name}",
        task=task,
        original=task,
        project=project,
        project_url=project_url(project),
        dataset=dataset_name(project, task.dataset_id),
        created=admin_display.ts_text(task.created_ts),
        progress=admin_display.task_progress(task, roles),
        role_rows=[
            {"role": role, "title": admin_display.ROLE_TITLES[role.role], "progress": admin_display.role_progress(role)}
            for role in sorted(roles, key=lambda r: (admin_display.ROLE_ORDER.index(r.role), r.user_name))
        ],
        may=may,
        leaders_form=forms.LeadersForm(
            prefix="leaders",
            initial={"label_leader": current.get(Role.LABEL_LEADER), "review_leader": current.get(Role.REVIEW_LEADER)},
        ),
        workers_form=forms.WorkersForm(prefix="workers", roles=unstaffed),
        replace_form=replace_form,
        qa_form=forms.TaskQAForm(prefix="qa"),
        images=images,
        after=after,
        history=_history(task=task),
    )


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _task_post(request: HttpRequest, task: LabelTask, form, run: Callable[[Any], Any], success) -> HttpResponse:
    back = HttpResponseRedirect(task_url(task))
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if form is not None and not form.is_valid():
        form_errors_to_messages(request, form)
        return back
    attempt(request, lambda: run(form), success)
    return back


def task_leaders(modeladmin, request, task: LabelTask) -> HttpResponse:
    actor = admin_access.actor_for(request.user)

    def run(form):
        admin_access.check(request.user, rules.require_assign_leader, task.project)
        for role, key in ((Role.LABEL_LEADER, "label_leader"), (Role.REVIEW_LEADER, "review_leader")):
            user = form.cleaned_data.get(key)
            if user is not None and not selectors.active_role(task.pk, role, user.pk):
                services.task_set_leader(task=task, user=user, role=role, actor=actor)

    return _task_post(request, task, forms.LeadersForm(request.POST, prefix="leaders"), run, "Leaders set.")


def task_workers(modeladmin, request, task: LabelTask) -> HttpResponse:
    actor = admin_access.actor_for(request.user)

    def run(form):
        wanted = [
            (Role.LABELER, list(form.cleaned_data["labelers"])),
            (Role.REVIEWER, list(form.cleaned_data["reviewers"])),
        ]
        wanted = [(role, users) for role, users in wanted if users]
        for role, _ in wanted:
            admin_access.check(request.user, rules.require_init_workers, task, role)
        # As the API: refused before either role is written, so a refusal leaves the task as it was.
        services.task_check_workers(
            task=task,
            labeler_ids=[user.pk for user in form.cleaned_data["labelers"]],
            reviewer_ids=[user.pk for user in form.cleaned_data["reviewers"]],
        )
        for role, users in wanted:
            services.task_init_workers(task=task, users=users, role=role, actor=actor)

    return _task_post(request, task, forms.WorkersForm(request.POST, prefix="workers"), run, "Workers assigned.")


def task_replace(modeladmin, request, task: LabelTask) -> HttpResponse:
    actor = admin_access.actor_for(request.user)

    def run(form):
        data = form.cleaned_data
        admin_access.check(request.user, rules.require_replace_worker, task, data["role"])
        services.task_replace_role(
            task=task, old_user=data["old_user"], new_user=data["new_user"], role=data["role"], actor=actor
        )
        return data

    return _task_post(
        request,
        task,
        forms.ReplaceForm(request.POST, prefix="replace", task=task),
        run,
        lambda data: f"{data['new_user'].name} took over from {data['old_user'].name}.",
    )


def task_restart(modeladmin, request, task: LabelTask) -> HttpResponse:
    actor = admin_access.actor_for(request.user)

    def run(_form):
        admin_access.check(request.user, rules.require_restart_task, task)
        return services.task_restart(task=task, actor=actor)

    return _task_post(request, task, None, run, "Task restarted: every role labels or reviews its images again.")


def task_qa(modeladmin, request, task: LabelTask) -> HttpResponse:
    actor = admin_access.actor_for(request.user)

    def run(form):
        admin_access.check(request.user, rules.require_qa_task, task)
        return services.task_qa(task=task, action=form.cleaned_data["action"], actor=actor)

    return _task_post(
        request,
        task,
        forms.TaskQAForm(request.POST, prefix="qa"),
        run,
        lambda done: f"Task {done.idx} is now {done.status}.",
    )


# --- workflow history -------------------------------------------------------------------------------------------------

HISTORY_LIMIT = 100


def _history(*, project: LabelProject | None = None, task: LabelTask | None = None) -> list[dict]:
    """The newest status changes of the project itself, or of one task (``labeling.checkpoint`` records them)."""
    if task is not None:
        events = WorkflowEvent.objects.filter(task_id=task.pk)
    else:
        events = WorkflowEvent.objects.filter(project_id=project.pk, task_id=None)
    return [
        {
            "when": admin_display.ts_text(event.created_ts),
            "actor": event.actor_name or "the operator",
            "action": event.action.replace("_", " "),
            "from_status": event.from_status,
            "to_status": event.to_status,
        }
        for event in events.order_by("-created_ts", "-id")[:HISTORY_LIMIT]
    ]
