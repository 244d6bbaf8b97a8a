from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..defaults import FRAMING_CHOICES, INDEX_KINDS
from ..errors import LrfaceError
from .options import DEVICE_OPT, MODEL_OPT, WEIGHTS_OPT, _echo_json, _report_refused


@click.group("gallery")
def gallery_group() -> None:
    """A persistent gallery: enrol once (create / add / remove), inspect (list / info), search with
    `lrface identify --db DB`."""


@gallery_group.command("create")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("folder", type=click.Path())
@click.option("--name", default=None, help="FOLDER holds images of this one person (else one sub-folder per identity)")
@click.option("--crop", "framing", default="photo", show_default=True, type=click.Choice(FRAMING_CHOICES),
              help="photo: detect, refuse images without a face; or the framing of pre-cut crops")
@click.option("--index", default="flat", show_default=True, type=click.Choice(INDEX_KINDS))
@click.option("--force", is_flag=True, help="overwrite an existing gallery file")
@MODEL_OPT
@WEIGHTS_OPT
@DEVICE_OPT
@click.option("--json", "as_json", is_flag=True)
def gallery_create(db: str, folder: str, name: str | None, framing: str, index: str, force: bool, model: str,
                   weights: str | None, device: str, as_json: bool) -> None:
    """Enrol FOLDER (one sub-folder per identity) into a new gallery DB (an SQLite file: the record;
    several processes may add, remove and search it at once)."""
    from ..atomic import check_writable
    from ..recognize.routing import load_recognizer
    from ..search.gallery import enroll, identity_items, new_gallery

    if Path(db).exists() and not force:
        raise LrfaceError(f"{db} exists: use `lrface gallery add`, or --force to replace it")
    if Path(db).is_dir():
        raise LrfaceError(f"{db} is a directory: give a file name, e.g. {Path(db) / 'gallery.db'}")
    items = identity_items(folder, name)
    if not items:
        raise LrfaceError(f"no images under {folder}")
    check_writable(db)
    rec = load_recognizer(model, weights, device)
    g = new_gallery(rec, index)
    rep = enroll(g, rec, items, framing)
    _report_refused(rep.refused, "image(s)")
    if not len(g):
        raise LrfaceError(f"no image under {folder} could be enrolled; gallery not written")
    g.save(db, replace=force)
    _gallery_summary(g, db, rep, as_json)


@gallery_group.command("add")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("source", type=click.Path())
@click.option("--name", default=None, help="SOURCE (image or folder) is this one person")
@click.option("--crop", "framing", default="photo", show_default=True, type=click.Choice(FRAMING_CHOICES))
@DEVICE_OPT
@click.option("--json", "as_json", is_flag=True)
def gallery_add(db: str, source: str, name: str | None, framing: str, device: str, as_json: bool) -> None:
    """Add images to DB: SOURCE is a folder of identity folders, or an image / folder with --name."""
    from ..recognize.routing import load_recognizer
    from ..search.gallery import Gallery, enroll, identity_items

    g = Gallery.load(db)
    rec = load_recognizer(g.model, None, device)
    g.check_recognizer(rec)
    rep = enroll(g, rec, identity_items(source, name), framing)
    _report_refused(rep.refused, "image(s)")
    if rep.added:
        g.save(db)
    _gallery_summary(g, db, rep, as_json)


@gallery_group.command("remove")
@click.argument("db", type=click.Path(dir_okay=False))
@click.argument("names", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
def gallery_remove(db: str, names: tuple[str, ...], as_json: bool) -> None:
    """Remove identities (all their templates) from DB."""
    from ..search.gallery import Gallery

    g = Gallery.load(db)
    removed = {n: g.remove(n) for n in names}
    g.save(db)
    if as_json:
        _echo_json({"removed": removed, "identities": len(g.names), "templates": len(g)})
    else:
        for n, k in removed.items():
            click.echo(f"removed {n} ({k} template(s))")


@gallery_group.command("list")
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def gallery_list(db: str, as_json: bool) -> None:
    """Identities in DB with their number of templates and best resolution."""
    from ..search.gallery import Gallery

    g = Gallery.load(db)
    rows = []
    for k, (n, c) in enumerate(g.counts().items()):
        sel = g.ident == k
        rows.append({"name": n, "templates": c, "best_r": round(float(g.r[sel].max()), 1) if c else None,
                     "quality": round(float(g.quality[sel].mean()), 3) if c else None})
    if as_json:
        _echo_json(rows)
    else:
        for row in rows:
            click.echo(f"{row['name']:30s} {row['templates']:4d} template(s)  best r {row['best_r']}  "
                       f"quality {row['quality']}")


@gallery_group.command("info")
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def gallery_info(db: str, as_json: bool) -> None:
    """What DB holds and which recognizer made it."""
    from ..search.gallery import Gallery

    g = Gallery.load(db)
    info = {"file": db, "bytes": Path(db).stat().st_size, "model": g.model, "model_id": g.model_id, "dim": g.dim,
            "identities": len(g.names), "templates": len(g), "index": g.index_kind, **g.meta}
    if as_json:
        _echo_json(info)
    else:
        for k, v in info.items():
            click.echo(f"{k:12s} {v}")


def _gallery_summary(g: Any, db: str, rep: Any, as_json: bool) -> None:
    if as_json:
        _echo_json({"file": db, "added": rep.added, "duplicates": rep.skipped_duplicates,
                    "refused": [{"file": f, "reason": r} for f, r in rep.refused],
                    "identities": len(g.names), "templates": len(g)})
    else:
        click.echo(f"{db}: {len(g.names)} identities, {len(g)} templates (+{rep.added} added"
                   f"{f', {rep.skipped_duplicates} already enrolled' if rep.skipped_duplicates else ''}"
                   f"{f', {len(rep.refused)} refused' if rep.refused else ''})")


@gallery_group.command("import")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("db", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def gallery_import(old: str, db: str, as_json: bool) -> None:
    """Copy a gallery in the old single-file (.npz) format into a new database gallery DB."""
    from ..search.gallery import EnrollReport, Gallery
    from ..search.persist import import_npz

    g = import_npz(Path(old), Path(db), Gallery)
    _gallery_summary(g, db, EnrollReport(added=len(g)), as_json)
