"""``flask audit checkpoint`` and ``flask audit rotate-key`` (issue 10)."""

from __future__ import annotations

import click
from flask import current_app

from backoffice.cli import audit_cli, cli_actor
from backoffice.models.audit import AuditAction
from backoffice.services import audit, audit_key, checkpoints
from backoffice.services.storage import StorageError


@audit_cli.command("checkpoint")
def checkpoint_command():
    """Write a signed checkpoint of the chain's head to storage (the daily job does too)."""
    with audit.acting_as(cli_actor()):
        try:
            written = checkpoints.write("cli")
        except (StorageError, OSError) as exc:
            raise click.ClickException(f"checkpoint not written: {exc}") from exc
    click.echo(f"checkpoint {written['name']}: seq {written['seq']}")


@audit_cli.command("rotate-key")
def rotate_key_command():
    """Sign with a new audit key from now on; old keys stay in the ring to verify the entries
    and checkpoints they signed. Writes a checkpoint before and after."""
    with audit.acting_as(cli_actor()):
        try:
            before = checkpoints.write("before key rotation")
            old, new = audit_key.rotate()
        except (audit_key.AuditKeyError, StorageError, OSError) as exc:
            raise click.ClickException(str(exc)) from exc
        audit.record_now(
            AuditAction.KEY_ROTATED, entity="audit_key", entity_id=new, detail=f"{old} -> {new}"
        )
        after = checkpoints.write("after key rotation")
    click.echo(
        f"audit key rotated: {old} -> {new} (checkpoints at seq {before['seq']} and "
        f"{after['seq']}); keep every old key in {audit_key.key_file(current_app.config)}"
    )
