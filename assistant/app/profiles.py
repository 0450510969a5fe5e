"""The app's profiles: a person's own (an admin may name another owner), exported and imported.

Creating, changing and importing profiles counts against the person's storage quota (``UsageLimits``):
past it the request is refused before anything is stored."""

from __future__ import annotations

import builtins

from alignment.errors import InputError
from assistant.app.replies import Deleted, ProfilesImported, ProfilesReply
from assistant.app.schemas import (
    ExportProfilesRequest,
    ImportProfilesRequest,
    OwnerRequest,
    ProfileCreateRequest,
    ProfileDeleteRequest,
    ProfileNameRequest,
    ProfileUpdateRequest,
    parse_request,
)
from assistant.app.usage_limits import UsageLimits
from profiles.schemas import Actor, ProfileBundle, ProfileCreate, ProfilePublic, ProfileUpdate
from profiles.store import Store

__all__ = ["AppProfiles"]


class AppProfiles:
    """``limits``: the storage quota checked before a profile is created, changed or imported (none:
    not checked)."""

    def __init__(
        self, store: Store, limits: UsageLimits | None = None, max_profiles: int | None = None
    ) -> None:
        self.store = store
        self.limits = limits
        self.max_profiles = max_profiles

    def check_room(
        self, actor: Actor, names: builtins.list[str], adding: str, owner: str | None = None
    ) -> None:
        """Refuse before storing the profiles ``names`` with ``adding`` (the new text, as JSON): past
        the storage quota (``StorageFull``) or past ``max_profiles`` (``InputError``). Every way of
        storing a profile checks this: create, import, a saved calibration."""
        self._check_storage(actor, adding)
        self._check_count(actor, names, owner)

    def _check_count(self, actor: Actor, names: builtins.list[str], owner: str | None) -> None:
        """``InputError`` when adding the profiles ``names`` not yet held would pass ``max_profiles``."""
        if self.max_profiles is None:
            return
        held = {p.name for p in self.store.profiles.list(actor, owner=owner)}
        if len(held | set(names)) > self.max_profiles:
            raise InputError(
                f"you keep {len(held)} profiles, the limit is {self.max_profiles}: this was not stored; "
                "delete profiles you no longer need, or ask an admin to raise the limit"
            )

    def _check_storage(self, actor: Actor, adding: str) -> None:
        """Refuse (``StorageFull``) before storing ``adding`` (the new text, as JSON) past the quota."""
        if self.limits is not None:
            self.limits.check_storage(actor, adding=len(adding))

    def list(self, actor: Actor, req: OwnerRequest) -> ProfilesReply:
        rows = self.store.profiles.list(actor, owner=req.owner, all_users=req.all_users)
        return ProfilesReply(profiles=rows)

    def get(self, actor: Actor, req: ProfileNameRequest) -> ProfilePublic:
        return self.store.profiles.get(actor, req.name, req.owner)

    def create(self, actor: Actor, req: ProfileCreateRequest) -> ProfilePublic:
        data = parse_request(ProfileCreate, req.model_dump(exclude={"owner"}))
        self.check_room(actor, [data.name], data.model_dump_json(), req.owner)
        return self.store.profiles.create(actor, data, req.owner)

    def update(self, actor: Actor, req: ProfileUpdateRequest) -> ProfilePublic:
        change = parse_request(ProfileUpdate, req.model_dump(exclude={"name", "owner"}))
        self._check_storage(actor, change.model_dump_json())
        return self.store.profiles.update(actor, req.name, change, req.owner)

    def delete(self, actor: Actor, req: ProfileDeleteRequest) -> Deleted:
        self.store.profiles.delete(actor, req.name, req.owner, req.expected_version)
        return Deleted(deleted=req.name)

    def export(self, actor: Actor, req: ExportProfilesRequest) -> ProfileBundle:
        if self.limits is not None:  # each export writes a file that is handed out (Handout bounds them too)
            self.limits.take(actor)
        return self.store.profiles.export(actor, req.names or None, req.owner)

    def import_bundle(self, actor: Actor, req: ImportProfilesRequest) -> ProfilesImported:
        self.check_room(actor, [p.name for p in req.bundle.profiles], req.bundle.model_dump_json(), req.owner)
        rows = self.store.profiles.import_bundle(actor, req.bundle, req.owner, replace=req.replace)
        return ProfilesImported(imported=rows)
