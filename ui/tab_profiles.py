"""Profiles tab: own profiles (admins: everyone's) with one slider per attribute; admin panel."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from alignment.errors import InputError
from assistant.app import AppService
from assistant.app.schemas import (
    AddUserRequest,
    AttributeRequest,
    DomainRequest,
    ExportProfilesRequest,
    ImportProfilesRequest,
    OwnerRequest,
    ProfileCreateRequest,
    ProfileDeleteRequest,
    ProfileNameRequest,
    ProfileUpdateRequest,
    SetPasswordRequest,
    SetRoleRequest,
)
from profiles.schemas import Actor, AttributePublic, ProfilePublic
from ui.api_keys_panel import build_api_keys_panel
from ui.common import acting, guarded, json_text, session_token, shown_once
from ui.files import json_download
from ui.password_panel import build_password_panel
from ui.render import parse_assignments, profile_key, split_profile_key

__all__ = ["ProfilesTab", "build_profiles_tab"]


@dataclass
class ProfilesTab:
    load_outputs: list[Any] = field(default_factory=list)
    choices: Any = None
    changes: list[Any] = field(default_factory=list)  # the events that may add, change or remove one
    refresh: Any = None  # the list read again (a profile changed elsewhere): handler, inputs, outputs
    refresh_inputs: list[Any] = field(default_factory=list)
    refresh_outputs: list[Any] = field(default_factory=list)

    def on_load(self, actor: Actor) -> list[Any]:
        return [gr.update(choices=self.choices(actor)), gr.update(visible=actor.is_admin)]


def build_profiles_tab(app: AppService, scalars: list[AttributePublic]) -> ProfilesTab:
    def profile_choices(actor: Actor) -> list[tuple[str, str]]:
        rows = app.profiles.list(actor, OwnerRequest(all_users=actor.is_admin)).profiles
        return [
            (
                p.name if p.owner == actor.name else f"{p.name} (owner {p.owner})",
                profile_key(p.owner, p.name),
            )
            for p in rows
        ]

    with gr.Row():
        picker = gr.Dropdown([], value=None, label="Profile", elem_id="profile-picker", scale=3)
        reload = gr.Button("Reload", size="sm", scale=0, elem_id="profile-reload")
    name = gr.Textbox(label="Name", elem_id="profile-name")
    description = gr.Textbox(label="Description", lines=2)
    used = gr.CheckboxGroup(
        [a.name for a in scalars], value=[], label="Attributes in this profile", elem_id="profile-used"
    )
    sliders = [
        gr.Slider(
            0,
            1,
            value=0.5,
            step=0.05,
            label=a.label or a.name,
            info=a.description,
            elem_id=f"profile-slider-{a.name}",
        )
        for a in scalars
    ]
    groups = gr.Textbox(
        label="Demographic groups (CATEGORY=GROUP, one per line)", lines=2, placeholder="SEX=Female"
    )
    version = gr.Number(label="Version", precision=0, interactive=False, elem_id="profile-version")
    with gr.Row():
        save = gr.Button("Save changes", variant="primary", elem_id="profile-save")
        create = gr.Button("Create as new", elem_id="profile-create")
        delete = gr.Button("Delete", variant="stop", elem_id="profile-delete")
    status = gr.Markdown(elem_id="profile-status")
    with gr.Accordion("Import / export", open=False):
        upload = gr.File(label="Import a profiles JSON file", file_types=[".json"])
        replace = gr.Checkbox(label="Replace profiles with the same name")
        do_import = gr.Button("Import")
        do_export = gr.Button("Export my profiles")
        exported = gr.File(label="Exported profiles")

    form = [name, description, used, *sliders, groups, version]

    def fill(profile: ProfilePublic | None) -> list[Any]:
        if profile is None:
            return (
                [gr.update(value="")] * 2
                + [gr.update(value=[])]
                + [gr.update(value=0.5)] * len(sliders)
                + [
                    gr.update(value=""),
                    gr.update(value=None),
                ]
            )
        targets = profile.targets
        return [
            profile.name,
            profile.description,
            [a.name for a in scalars if a.name in targets],
            *[targets.get(a.name, 0.5) for a in scalars],
            "\n".join(f"{k}={v}" for k, v in profile.groups.items()),
            profile.version,
        ]

    def form_targets(data: dict) -> dict[str, float]:
        use = data[used] or []
        return {a.name: float(data[s]) for a, s in zip(scalars, sliders, strict=True) if a.name in use}

    def form_groups(data: dict) -> dict[str, str]:
        try:
            return parse_assignments(data[groups] or "")
        except ValueError as exc:
            raise InputError(f"groups: {exc}") from None

    @shown_once(len(form))
    def load(key: str | None, request: gr.Request) -> list[Any]:
        if not key:
            return fill(None)
        owner, pname = split_profile_key(key)
        actor = acting(app, request)
        return fill(app.profiles.get(actor, app.parse(ProfileNameRequest, {"name": pname, "owner": owner})))

    picker.input(load, [picker], form, api_visibility="private")

    @shown_once(1 + len(form))
    def reload_list(key: str | None, request: gr.Request) -> list[Any]:
        actor = acting(app, request)
        choices = profile_choices(actor)
        keep = key if key in {v for _, v in choices} else None
        return [gr.update(choices=choices, value=keep), *load(keep, request)]

    reload.click(reload_list, [picker], [picker, *form], api_visibility="private")

    @shown_once(1 + len(form))
    def refresh(key: str | None, ver: float | None, request: gr.Request) -> list[Any]:
        """The list read again: a profile may have been made or changed elsewhere (values told in
        the chat, a calibration, another tab). The form is read again only when its profile changed
        meanwhile, so edits not saved yet stay."""
        actor = acting(app, request)
        choices = profile_choices(actor)
        keep = [gr.update() for _ in form]
        if not key:
            return [gr.update(choices=choices), *keep]
        if key not in {v for _, v in choices}:
            return [gr.update(choices=choices, value=None), *fill(None)]
        owner, pname = split_profile_key(key)
        stored = app.profiles.get(actor, app.parse(ProfileNameRequest, {"name": pname, "owner": owner}))
        if ver is not None and int(ver) == stored.version:
            return [gr.update(choices=choices, value=key), *keep]
        return [gr.update(choices=choices, value=key), *fill(stored)]

    @shown_once(2 + len(form), status=1 + len(form))
    def save_profile(data: dict, request: gr.Request) -> list[Any]:
        actor = acting(app, request)
        if not data[picker]:
            raise InputError("pick a profile to change, or use 'Create as new'")
        owner, pname = split_profile_key(data[picker])
        current = app.profiles.get(actor, app.parse(ProfileNameRequest, {"name": pname, "owner": owner}))
        targets = form_targets(data)
        group_values = form_groups(data)
        new_name = (data[name] or "").strip()
        change = {
            "name": pname,
            "owner": owner,
            "description": data[description] or "",
            "set_targets": targets,
            "unset_targets": [
                k for k in current.targets if k not in targets and k in {a.name for a in scalars}
            ],
            "set_groups": group_values,
            "unset_groups": [k for k in current.groups if k not in group_values],
            "rename": new_name if new_name and new_name != pname else None,
            "expected_version": int(data[version]) if data[version] is not None else None,
        }
        saved = app.profiles.update(actor, app.parse(ProfileUpdateRequest, change, actor=actor))
        choices = profile_choices(actor)
        return [
            gr.update(choices=choices, value=profile_key(saved.owner, saved.name)),
            *fill(saved),
            f"Saved **{saved.name}** (version {saved.version}).",
        ]

    saved = save.click(save_profile, {picker, *form}, [picker, *form, status], api_visibility="private")

    @shown_once(2 + len(form), status=1 + len(form))
    def create_profile(data: dict, request: gr.Request) -> list[Any]:
        actor = acting(app, request)
        new = {
            "name": data[name] or "",
            "description": data[description] or "",
            "targets": form_targets(data),
            "groups": form_groups(data),
        }
        created = app.profiles.create(actor, app.parse(ProfileCreateRequest, new, actor=actor))
        return [
            gr.update(choices=profile_choices(actor), value=profile_key(created.owner, created.name)),
            *fill(created),
            f"Created **{created.name}**.",
        ]

    created = create.click(create_profile, {picker, *form}, [picker, *form, status], api_visibility="private")

    @shown_once(2 + len(form), status=1 + len(form))
    def delete_profile(key: str | None, ver: float | None, request: gr.Request) -> list[Any]:
        actor = acting(app, request)
        if not key:
            raise InputError("pick a profile to delete")
        owner, pname = split_profile_key(key)
        expected = int(ver) if ver is not None else None
        app.profiles.delete(
            actor,
            app.parse(ProfileDeleteRequest, {"name": pname, "owner": owner, "expected_version": expected}),
        )
        return [gr.update(choices=profile_choices(actor), value=None), *fill(None), f"Deleted **{pname}**."]

    deleted = delete.click(
        delete_profile, [picker, version], [picker, *form, status], api_visibility="private"
    )

    @shown_once(2, status=1)
    def import_file(path: str | None, rep: bool, request: gr.Request) -> list[Any]:
        actor = acting(app, request)
        if not path:
            raise InputError("choose a profiles JSON file to import (as written by 'Export')")
        with app.upload(actor, Path(path), dataset=False) as file:
            try:
                bundle = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(
                    f"the file is not valid JSON ({exc}); export a file to see the format"
                ) from None
            except RecursionError:
                raise InputError(
                    "the file's JSON is nested too deeply; export a file to see the format"
                ) from None
        request_ = app.parse(ImportProfilesRequest, {"bundle": bundle, "replace": bool(rep)}, actor=actor)
        imported = app.profiles.import_bundle(actor, request_).imported
        names = ", ".join(p.name for p in imported)
        return [gr.update(choices=profile_choices(actor)), f"Imported {len(imported)}: {names}."]

    imported = do_import.click(import_file, [upload, replace], [picker, status], api_visibility="private")

    @guarded
    def export_file(request: gr.Request) -> str:
        actor = acting(app, request)
        bundle = app.profiles.export(actor, ExportProfilesRequest())
        return json_download(app, actor, bundle.model_dump(mode="json"), "profiles.json")

    do_export.click(export_file, None, [exported], api_visibility="private")

    with gr.Accordion("Your password", open=False):
        build_password_panel(app)
    with gr.Accordion("API keys for chat apps (Open WebUI, LibreChat)", open=False):
        build_api_keys_panel(app)

    with gr.Accordion("Administration: attribute definitions and users", open=False, visible=False) as admin:
        build_admin_panel(app)

    return ProfilesTab(
        load_outputs=[picker, admin],
        choices=profile_choices,
        changes=[saved, created, deleted, imported],
        refresh=refresh,
        refresh_inputs=[picker, version],
        refresh_outputs=[picker, *form],
    )


def build_admin_panel(app: AppService) -> None:
    gr.Markdown("### Attribute definitions")
    attributes = gr.Dataframe(
        headers=["name", "kind", "domain", "label", "description"], interactive=False, wrap=True
    )
    definition = gr.Code(
        value=json.dumps(
            {
                "name": "honesty",
                "kind": "scalar",
                "domain": "generic",
                "label": "Honesty",
                "description": "Telling the truth",
                "high": "always tells the truth",
                "low": "bends the truth",
            },
            indent=2,
        ),
        language="json",
        label="Attribute definition (JSON; created or updated by name)",
    )
    with gr.Row():
        list_attrs = gr.Button("List attributes")
        save_attr = gr.Button("Save attribute", variant="primary")
    gr.Markdown("### Users")
    users = gr.Dataframe(headers=["name", "role", "has_password"], interactive=False)
    with gr.Row():
        user_name = gr.Textbox(label="User name")
        password = gr.Textbox(label="Password (8+ characters)", type="password")
        role = gr.Radio(["user", "admin"], value="user", label="Role")
    with gr.Row():
        list_users = gr.Button("List users")
        add_user = gr.Button("Add user", variant="primary")
        set_pw = gr.Button("Set password")
        set_role = gr.Button("Set role")
    admin_status = gr.Markdown()

    def attr_rows(request: gr.Request) -> list[list[Any]]:
        rows = app.admin.attributes(acting(app, request), DomainRequest()).attributes
        return [[a.name, a.kind, a.domain, a.label, (a.description or "")[:120]] for a in rows]

    def user_rows(request: gr.Request) -> list[list[Any]]:
        rows = app.admin.users(acting(app, request)).users
        return [[u.name, u.role, u.has_password] for u in rows]

    list_attrs.click(guarded(attr_rows), None, [attributes], api_visibility="private")
    list_users.click(guarded(user_rows), None, [users], api_visibility="private")

    @shown_once(2, status=1)
    def save_attribute(text: str, request: gr.Request) -> list[Any]:
        data = json_text(text, "the definition")
        actor = acting(app, request)
        result = app.admin.upsert_attribute(
            actor, app.parse(AttributeRequest, {"attribute": data}, actor=actor)
        )
        what = "created" if result.created else "updated" if result.updated else "unchanged"
        return [attr_rows(request), f"Attribute **{result.attribute.name}** {what}."]

    save_attr.click(save_attribute, [definition], [attributes, admin_status], api_visibility="private")

    @shown_once(2, status=1)
    def add(name: str, pw: str, r: str, request: gr.Request) -> list[Any]:
        actor = acting(app, request)
        new = app.parse(AddUserRequest, {"name": name, "password": pw or None, "role": r}, actor=actor)
        user = app.admin.add_user(actor, new)
        return [user_rows(request), f"User **{user.name}** added ({user.role})."]

    @shown_once(2, status=1)
    def change_password(name: str, pw: str, request: gr.Request) -> list[Any]:
        actor = acting(app, request)
        change = app.parse(SetPasswordRequest, {"name": name, "password": pw}, actor=actor)
        done = app.admin.set_password(actor, change, keep_session=session_token(request))
        return [user_rows(request), done.message]

    @shown_once(2, status=1)
    def change_role(name: str, r: str, request: gr.Request) -> list[Any]:
        actor = acting(app, request)
        app.admin.set_role(actor, app.parse(SetRoleRequest, {"name": name, "role": r}, actor=actor))
        return [user_rows(request), f"**{name}** is now {r}."]

    add_user.click(add, [user_name, password, role], [users, admin_status], api_visibility="private")
    set_pw.click(change_password, [user_name, password], [users, admin_status], api_visibility="private")
    set_role.click(change_role, [user_name, role], [users, admin_status], api_visibility="private")
