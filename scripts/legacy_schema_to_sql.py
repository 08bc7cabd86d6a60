#!/usr/bin/env python3
"""Generate the idempotent legacy-domain migration from legacy-schema.json.

Usage (from the repository root):

    python3 scripts/legacy_schema_to_sql.py \
        --schema /work/shared/domain/legacy-schema.json \
        --out migrations/0001_legacy_domain.sql

    # compare a live database's catalog with the JSON (needs `psql` on PATH):
    python3 scripts/legacy_schema_to_sql.py \
        --schema /work/shared/domain/legacy-schema.json \
        --check "host=127.0.0.1 user=postgres dbname=legacy_a"

The JSON is the catalog of the legacy (Cicero_V2) PostgreSQL database read back
from PostgreSQL 15. The generated SQL must:

  * on an empty database create every table, column, default, sequence,
    function, primary key, unique constraint, foreign key, index and trigger
    under its legacy name, plus the seed rows;
  * on an existing legacy database be a no-op that changes and loses nothing
    (only objects that are missing get created; nothing is altered or dropped).

Output is deterministic (no timestamps, sorted by the JSON's own order), so
re-running the generator on the same JSON gives a byte-identical file. That
matters: sqlx stores a checksum of every applied migration and refuses to run
if an applied file changes.

Standard library only.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys

SCHEMA = "public"

# Columns the live legacy database has although the JSON (built from the SQL
# files of the repository) does not. See docs/legacy-schema.md.
#   insta_post.like_count: written by src/handler/fetchpost/instaFetchPost.js
#   (INSERT ... like_count ... ON CONFLICT DO UPDATE); no SQL file adds it. Type
#   integer, nullable, no default: the same as tiktok_post.like_count and
#   ig_ext_posts.like_count.
EXTRA_COLUMNS = {
    "insta_post": [
        {"name": "like_count", "type": "integer", "nullable": True, "default": None},
    ],
}

# PostgreSQL 15 keywords of category reserved, type/function-name and
# column-name (pg_get_keywords() catcode R, T, C): identifiers that are one of
# these must be double-quoted.
KEYWORDS = set("""
all analyse analyze and any array as asc asymmetric authorization between bigint
binary bit boolean both case cast char character check coalesce collate collation
column concurrently constraint create cross current_catalog current_date
current_role current_schema current_time current_timestamp current_user dec
decimal default deferrable desc distinct do else end except exists extract false
fetch float for foreign freeze from full grant greatest group grouping having
ilike in initially inner inout int integer intersect interval into is isnull join
lateral leading least left like limit localtime localtimestamp national natural
nchar none normalize not notnull null nullif numeric offset on only or order out
outer overlaps overlay placing position precision primary real references
returning right row select session_user setof similar smallint some substring
symmetric table tablesample then time timestamp to trailing treat trim true union
unique user using values varchar variadic verbose when where window with
xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse
xmlpi xmlroot xmlserialize xmltable
""".split())

ACTIONS = {"NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"}


# --------------------------------------------------------------------------
# quoting helpers
# --------------------------------------------------------------------------

def qi(name):
    """Quote an identifier the way PostgreSQL's quote_ident() does."""
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) and name not in KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def qt(name):
    """Schema-qualified, quoted relation name."""
    return f"{qi(SCHEMA)}.{qi(name)}"


def lit(value):
    """SQL literal for a JSON scalar."""
    if value is None:
        return "NULL"
    if value is True:
        return "TRUE"
    if value is False:
        return "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise ValueError(f"unsupported seed value {value!r}")


def regclass(name):
    """'public.name'::regclass, for use inside DO blocks."""
    return f"{lit(qt(name))}::regclass"


def text_array(names):
    return "ARRAY[" + ", ".join(lit(n) for n in names) + "]::text[]"


def collist(names):
    return ", ".join(qi(n) for n in names)


def qualify_default(default):
    """nextval('seq'::regclass) -> nextval('public.seq'::regclass).

    The regclass literal is resolved to an OID when the default is stored, so
    qualifying it does not change what the catalog holds; it only makes the
    migration independent of the session's search_path.
    """
    if default is None:
        return None
    m = re.fullmatch(r"nextval\('([^']+)'::regclass\)", default)
    if m:
        seq = m.group(1)
        if "." not in seq:
            return f"nextval({lit(SCHEMA + '.' + seq)}::regclass)"
    return default


def attnums_sql(table_reg, cols, ordered=True):
    """int2[] of the attnums of cols on table (in the given order, or sorted)."""
    order = "x.ord" if ordered else "a.attnum"
    return (
        f"(SELECT array_agg(a.attnum ORDER BY {order}) "
        f"FROM unnest({text_array(cols)}) WITH ORDINALITY AS x(name, ord) "
        f"JOIN pg_attribute a ON a.attrelid = {table_reg} AND a.attname = x.name "
        f"AND NOT a.attisdropped)"
    )


def do_block(body_lines):
    out = ["DO $do$", "BEGIN"]
    out += ["    " + line if line else "" for line in body_lines]
    out += ["END", "$do$;"]
    return "\n".join(out)


# --------------------------------------------------------------------------
# generation
# --------------------------------------------------------------------------

def table_columns(table):
    cols = list(table["columns"])
    have = {c["name"] for c in cols}
    for extra in EXTRA_COLUMNS.get(table["name"], []):
        if extra["name"] not in have:
            cols.append(extra)
    return cols


def column_def(col, with_not_null=True):
    parts = [qi(col["name"]), col["type"]]
    default = qualify_default(col["default"])
    if default is not None:
        parts.append(f"DEFAULT {default}")
    if with_not_null and not col["nullable"]:
        parts.append("NOT NULL")
    return " ".join(parts)


def gen_extensions(doc):
    out = []
    for ext in doc["extensions"]:
        if ext["schema"] == "pg_catalog":
            # plpgsql: always present; IF NOT EXISTS makes this a no-op.
            out.append(f"CREATE EXTENSION IF NOT EXISTS {qi(ext['name'])};")
        else:
            out.append(
                f"CREATE EXTENSION IF NOT EXISTS {qi(ext['name'])} WITH SCHEMA {qi(ext['schema'])};"
            )
    return out


def gen_sequences(doc):
    out = []
    for s in doc["sequences"]:
        out.append(
            f"CREATE SEQUENCE IF NOT EXISTS {qt(s['name'])} AS {s['data_type']} "
            f"INCREMENT BY {s['increment']} MINVALUE {s['min']} MAXVALUE {s['max']} "
            f"START WITH {s['start']} CACHE {s['cache']} {'CYCLE' if s['cycle'] else 'NO CYCLE'};"
        )
    return out


def gen_functions(doc):
    out = []
    for f in doc["functions"]:
        if f["arguments"] != "":
            raise SystemExit(f"function {f['name']}: arguments not supported by the generator")
        body = f["body"]
        if "$fn$" in body or "$body$" in body:
            raise SystemExit(f"function {f['name']}: body contains a dollar-quote tag in use")
        attrs = [f"LANGUAGE {f['language']}", f["volatility"]]
        if f["strict"]:
            attrs.append("STRICT")
        if f["security_definer"]:
            attrs.append("SECURITY DEFINER")
        for setting in f["settings"]:
            key, _, value = setting.partition("=")
            attrs.append(f"SET {key} = {lit(value)}")
        create = (
            f"CREATE OR REPLACE FUNCTION {qt(f['name'])}() RETURNS {f['returns']}\n"
            f"        {' '.join(attrs)}\n"
            f"        AS $fn${body}$fn$;"
        )
        # Only (re)create when the function is missing or its body differs, so
        # an identical legacy function is not touched (CREATE OR REPLACE would
        # need ownership of it).
        out.append(do_block([
            "IF NOT EXISTS (",
            "    SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace",
            f"    WHERE n.nspname = {lit(SCHEMA)} AND p.proname = {lit(f['name'])}",
            "      AND p.pronargs = 0",
            f"      AND p.prorettype = {lit(f['returns'])}::regtype",
            f"      AND p.prosrc = $body${body}$body$",
            ") THEN",
            "    " + create,
            "END IF;",
        ]))
    return out


def gen_tables(doc):
    out = []
    for t in doc["tables"]:
        cols = table_columns(t)
        lines = [f"    {column_def(c)}" for c in cols]
        out.append(f"CREATE TABLE IF NOT EXISTS {qt(t['name'])} (\n" + ",\n".join(lines) + "\n);")
    return out


def gen_add_columns(doc):
    """One DO block per table: add every column the table lacks."""
    out = []
    for t in doc["tables"]:
        reg = regclass(t["name"])
        body = []
        for c in table_columns(t):
            body.append(
                "IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = "
                f"{reg} AND attname = {lit(c['name'])} AND NOT attisdropped) THEN"
            )
            if not c["nullable"] and c["default"] is None:
                # NOT NULL without a default cannot be added to a table that
                # has rows; add it nullable there and say so.
                body += [
                    f"    IF EXISTS (SELECT 1 FROM {qt(t['name'])} LIMIT 1) THEN",
                    f"        ALTER TABLE {qt(t['name'])} ADD COLUMN IF NOT EXISTS {column_def(c, with_not_null=False)};",
                    f"        RAISE WARNING 'legacy schema: column %.% added without NOT NULL (table has rows, no default)', {lit(t['name'])}, {lit(c['name'])};",
                    "    ELSE",
                    f"        ALTER TABLE {qt(t['name'])} ADD COLUMN IF NOT EXISTS {column_def(c)};",
                    "    END IF;",
                ]
            else:
                body.append(f"    ALTER TABLE {qt(t['name'])} ADD COLUMN IF NOT EXISTS {column_def(c)};")
            body.append("END IF;")
        out.append(f"-- {t['name']}\n" + do_block(body))
    return out


def gen_sequence_owners(doc):
    out = []
    for s in doc["sequences"]:
        own = s.get("owned_by")
        if not own:
            continue
        treg = regclass(own["table"])
        out.append(do_block([
            "IF NOT EXISTS (",
            "    SELECT 1 FROM pg_depend d JOIN pg_attribute a",
            "      ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid",
            f"    WHERE d.classid = 'pg_class'::regclass AND d.objid = {regclass(s['name'])}",
            f"      AND d.refclassid = 'pg_class'::regclass AND d.refobjid = {treg}",
            f"      AND a.attname = {lit(own['column'])} AND d.deptype IN ('a', 'i')",
            ") THEN",
            f"    ALTER SEQUENCE {qt(s['name'])} OWNED BY {qt(own['table'])}.{qi(own['column'])};",
            "END IF;",
        ]))
    return out


def name_taken_guard(name, what):
    return [
        f"ELSIF to_regclass({lit(qt(name))}) IS NOT NULL THEN",
        f"    RAISE WARNING 'legacy schema: % % not added, relation % already exists', {lit(what)}, {lit(name)}, {lit(name)};",
    ]


def gen_keys(doc):
    """Primary keys and unique constraints."""
    out = []
    for t in doc["tables"]:
        reg = regclass(t["name"])
        pk = t.get("primary_key")
        if pk:
            body = [
                f"IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = {reg} AND contype = 'p') THEN",
                "    NULL;  -- the table already has a primary key",
            ]
            body += name_taken_guard(pk["name"], "primary key")
            body += [
                "ELSE",
                f"    ALTER TABLE {qt(t['name'])} ADD CONSTRAINT {qi(pk['name'])} PRIMARY KEY ({collist(pk['columns'])});",
                "END IF;",
            ]
            out.append(f"-- {t['name']}: {pk['name']}\n" + do_block(body))
        for uc in t.get("unique_constraints") or []:
            # Already present if a constraint of that name exists, or any
            # unique, non-partial, non-expression index over the same columns
            # (such an index serves ON CONFLICT just the same).
            body = [
                "IF EXISTS (",
                f"    SELECT 1 FROM pg_constraint WHERE conrelid = {reg} AND conname = {lit(uc['name'])}",
                ") OR EXISTS (",
                "    SELECT 1 FROM pg_index i",
                f"    WHERE i.indrelid = {reg} AND i.indisunique",
                "      AND i.indpred IS NULL AND i.indexprs IS NULL",
                "      AND (SELECT array_agg(k ORDER BY k) FROM unnest(i.indkey::int2[]) k)",
                f"          = {attnums_sql(reg, uc['columns'], ordered=False)}",
                ") THEN",
                "    NULL;",
            ]
            body += name_taken_guard(uc["name"], "unique constraint")
            body += [
                "ELSE",
                f"    ALTER TABLE {qt(t['name'])} ADD CONSTRAINT {qi(uc['name'])} UNIQUE ({collist(uc['columns'])});",
                "END IF;",
            ]
            out.append(f"-- {t['name']}: {uc['name']}\n" + do_block(body))
        for cc in t.get("check_constraints") or []:
            expr = cc.get("definition") or cc.get("expression")
            if not expr:
                raise SystemExit(f"check constraint {cc}: no definition")
            if not expr.upper().startswith("CHECK"):
                expr = f"CHECK ({expr})"
            out.append(f"-- {t['name']}: {cc['name']}\n" + do_block([
                f"IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = {reg} AND conname = {lit(cc['name'])}) THEN",
                f"    ALTER TABLE {qt(t['name'])} ADD CONSTRAINT {qi(cc['name'])} {expr} NOT VALID;",
                "    BEGIN",
                f"        ALTER TABLE {qt(t['name'])} VALIDATE CONSTRAINT {qi(cc['name'])};",
                "    EXCEPTION WHEN check_violation THEN",
                f"        RAISE WARNING 'legacy schema: % left NOT VALID, existing rows violate it', {lit(cc['name'])};",
                "    END;",
                "END IF;",
            ]))
    return out


def gen_foreign_keys(doc):
    out = []
    for t in doc["tables"]:
        reg = regclass(t["name"])
        for fk in t.get("foreign_keys") or []:
            ref = fk["references"]
            rreg = regclass(ref["table"])
            for k in ("on_delete", "on_update"):
                if fk[k] not in ACTIONS:
                    raise SystemExit(f"{fk['name']}: unknown {k} {fk[k]}")
            clause = (
                f"FOREIGN KEY ({collist(fk['columns'])}) "
                f"REFERENCES {qt(ref['table'])} ({collist(ref['columns'])})"
            )
            if fk.get("match", "SIMPLE") == "FULL":
                clause += " MATCH FULL"
            if fk["on_delete"] != "NO ACTION":
                clause += f" ON DELETE {fk['on_delete']}"
            if fk["on_update"] != "NO ACTION":
                clause += f" ON UPDATE {fk['on_update']}"
            if fk.get("deferrable"):
                clause += " DEFERRABLE"
                if fk.get("initially_deferred"):
                    clause += " INITIALLY DEFERRED"
            # Already present if a constraint of that name exists, or any
            # foreign key with the same columns to the same referenced columns
            # (whatever its name or ON DELETE action: we do not alter it).
            body = [
                "IF NOT EXISTS (",
                "    SELECT 1 FROM pg_constraint c",
                f"    WHERE c.conrelid = {reg} AND (c.conname = {lit(fk['name'])} OR (",
                f"        c.contype = 'f' AND c.confrelid = {rreg}",
                f"        AND c.conkey = {attnums_sql(reg, fk['columns'])}",
                f"        AND c.confkey = {attnums_sql(rreg, ref['columns'])}))",
                ") THEN",
                # NOT VALID + VALIDATE: on an empty or clean table this ends up
                # exactly like a plain ADD CONSTRAINT (convalidated = true); on
                # an old database with orphan rows the key is still added and
                # enforced for new rows, and the migration does not fail.
                f"    ALTER TABLE {qt(t['name'])} ADD CONSTRAINT {qi(fk['name'])}",
                f"        {clause} NOT VALID;",
                "    BEGIN",
                f"        ALTER TABLE {qt(t['name'])} VALIDATE CONSTRAINT {qi(fk['name'])};",
                "    EXCEPTION WHEN foreign_key_violation THEN",
                f"        RAISE WARNING 'legacy schema: foreign key % left NOT VALID, existing rows violate it', {lit(fk['name'])};",
                "    END;",
                "END IF;",
            ]
            out.append(f"-- {t['name']}: {fk['name']}\n" + do_block(body))
    return out


INDEX_RE = re.compile(r"CREATE (UNIQUE )?INDEX (\S+) ON (\S+) (USING .*)")


def gen_indexes(doc):
    out = []
    for t in doc["tables"]:
        for ix in t.get("indexes") or []:
            if ix.get("constraint"):
                continue  # created by its constraint
            m = INDEX_RE.fullmatch(ix["definition"])
            if not m:
                raise SystemExit(f"index {ix['name']}: cannot parse {ix['definition']!r}")
            unique, name, on, rest = m.groups()
            if name != qi(ix["name"]) or on != qt(t["name"]):
                raise SystemExit(f"index {ix['name']}: unexpected name/table in {ix['definition']!r}")
            create = f"CREATE {unique or ''}INDEX IF NOT EXISTS {name} ON {on} {rest};"
            out.append(do_block([
                f"IF to_regclass({lit(qt(ix['name']))}) IS NULL THEN",
                f"    {create}",
                "END IF;",
            ]))
    return out


def gen_triggers(doc):
    out = []
    fn_names = {f["name"] for f in doc["functions"]}
    for t in doc["tables"]:
        reg = regclass(t["name"])
        for tg in t.get("triggers") or []:
            if tg["function"] not in fn_names:
                raise SystemExit(f"trigger {tg['name']}: function {tg['function']} not in JSON")
            events = " OR ".join(tg["events"])
            create = (
                f"CREATE TRIGGER {qi(tg['name'])} {tg['timing']} {events} ON {qt(t['name'])} "
                f"FOR EACH {tg['level']} EXECUTE FUNCTION {qt(tg['function'])}()"
            )
            # sanity: same statement as the catalog's, modulo the function's schema
            expect = tg["definition"].replace(
                f"EXECUTE FUNCTION {qi(tg['function'])}()", f"EXECUTE FUNCTION {qt(tg['function'])}()"
            )
            if create != expect:
                raise SystemExit(f"trigger {tg['name']}: generated\n  {create}\nexpected\n  {expect}")
            body = [
                f"IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = {reg} AND tgname = {lit(tg['name'])} AND NOT tgisinternal) THEN",
                f"    {create};",
            ]
            if not tg.get("enabled", True):
                body.append(f"    ALTER TABLE {qt(t['name'])} DISABLE TRIGGER {qi(tg['name'])};")
            body.append("END IF;")
            out.append(do_block(body))
    return out


def gen_seeds(doc):
    tables = {t["name"]: t for t in doc["tables"]}
    seqs = {s["name"]: s for s in doc["sequences"]}
    out = []
    for seed in doc["seed_rows"]:
        t = tables[seed["table"]]
        cols = seed["columns"]
        rows = seed["rows"]
        coldefs = {c["name"]: c for c in t["columns"]}
        serial = None
        for c in cols:
            m = re.fullmatch(r"nextval\('([^']+)'::regclass\)", coldefs[c]["default"] or "")
            if m:
                serial = (c, seqs[m.group(1)])
        if serial:
            # Serial-keyed seed (roles): the legacy SQL inserts by name and lets
            # the sequence hand out the ids. Do the same, in id order, only for
            # names that are missing: on an empty database this gives exactly
            # the recorded ids and sequence position; on a live database it
            # never touches existing rows or burns sequence values.
            col, seq = serial
            ids = sorted(r[col] for r in rows)
            if ids != list(range(seq["start"], seq["start"] + len(ids))) or seq["last_value"] != ids[-1]:
                raise SystemExit(f"seed {t['name']}: ids {ids} not reproducible from {seq['name']}")
            rest = [c for c in cols if c != col]
            keys = [
                uc["columns"] for uc in t.get("unique_constraints") or []
                if set(uc["columns"]) <= set(rest)
            ]
            if not keys:
                raise SystemExit(f"seed {t['name']}: no natural key among {rest}")
            key = keys[0]
            values = ",\n".join(
                "    (" + ", ".join([lit(r[col])] + [lit(r[c]) for c in rest]) + ")"
                for r in sorted(rows, key=lambda r: r[col])
            )
            cond = " AND ".join(f"e.{qi(k)} = v.{qi(k)}" for k in key)
            out.append(
                f"-- {t['name']}: {len(rows)} row(s); ids come from {seq['name']} "
                f"(recorded: {', '.join(str(i) for i in ids)})\n"
                f"INSERT INTO {qt(t['name'])} ({collist(rest)})\n"
                f"SELECT {', '.join('v.' + qi(c) for c in rest)}\n"
                f"FROM (VALUES\n{values}\n) AS v(seed_order, {collist(rest)})\n"
                f"WHERE NOT EXISTS (SELECT 1 FROM {qt(t['name'])} e WHERE {cond})\n"
                f"ORDER BY v.seed_order\n"
                f"ON CONFLICT DO NOTHING;"
            )
        else:
            values = ",\n".join(
                "    (" + ", ".join(lit(r[c]) for c in cols) + ")" for r in rows
            )
            out.append(
                f"-- {t['name']}: {len(rows)} row(s)\n"
                f"INSERT INTO {qt(t['name'])} ({collist(cols)}) VALUES\n{values}\n"
                f"ON CONFLICT DO NOTHING;"
            )
    return out


def sanity(doc):
    for t in doc["tables"]:
        keysets = []
        if t.get("primary_key"):
            keysets.append(frozenset(t["primary_key"]["columns"]))
        for uc in t.get("unique_constraints") or []:
            keysets.append(frozenset(uc["columns"]))
        if len(keysets) != len(set(keysets)):
            raise SystemExit(f"{t['name']}: two keys over the same columns; the equivalence guard would skip one")
        for extra in EXTRA_COLUMNS.get(t["name"], []):
            if any(c["name"] == extra["name"] for c in t["columns"]):
                print(f"note: {t['name']}.{extra['name']} is now in the JSON; extra column ignored", file=sys.stderr)


def generate(doc, schema_bytes, command):
    sanity(doc)
    src = doc["source"]
    sha = hashlib.sha256(schema_bytes).hexdigest()
    header = f"""\
-- GENERATED FILE, DO NOT EDIT BY HAND.
-- Generated by: {command}
-- From: legacy-schema.json (sha256 {sha})
--   = catalog of {src['repository']}@{src['commit']} ({src['catalog_server']})
--
-- Legacy (Cicero_V2) domain schema, schema "public". Idempotent:
--   * empty database: creates every legacy table, column, default, sequence,
--     trigger function, primary key, unique constraint, foreign key, index,
--     trigger and the seed rows;
--   * existing legacy database: only creates what is missing. Nothing is
--     dropped, altered in type, or rewritten; existing objects are detected
--     through the catalog before any ALTER/CREATE that would lock a table or
--     need ownership of it.
-- Deliberate addition over the JSON: insta_post.like_count integer (written by
-- the legacy Instagram fetcher, absent from the legacy SQL files).
-- See docs/legacy-schema.md. Do not edit an applied migration: sqlx checksums it.
"""
    sections = [
        ("Extensions", gen_extensions(doc)),
        ("Sequences (ownership is set after the tables exist)", gen_sequences(doc)),
        ("Trigger functions", gen_functions(doc)),
        ("Tables (columns, defaults, NOT NULL; keys are added below)", gen_tables(doc)),
        ("Columns missing from an older legacy database", gen_add_columns(doc)),
        ("Sequence ownership (OWNED BY, as a serial column has)", gen_sequence_owners(doc)),
        ("Primary keys and unique constraints", gen_keys(doc)),
        ("Foreign keys", gen_foreign_keys(doc)),
        ("Indexes not backing a constraint", gen_indexes(doc)),
        ("Triggers", gen_triggers(doc)),
        ("Seed rows", gen_seeds(doc)),
    ]
    parts = [header]
    for title, stmts in sections:
        if not stmts:
            continue
        parts.append(f"-- {'=' * 74}\n-- {title}\n-- {'=' * 74}\n")
        parts.append("\n\n".join(stmts) + "\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------
# --check: compare a database's catalog with the JSON
# --------------------------------------------------------------------------

CATALOG_SQL = r"""
WITH
tbl AS (
  SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
),
cols AS (
  SELECT t.relname, json_agg(json_build_object(
      'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
      'nullable', NOT a.attnotnull, 'default', pg_get_expr(d.adbin, d.adrelid))
    ORDER BY a.attnum) AS j
  FROM tbl t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = t.oid AND d.adnum = a.attnum
  GROUP BY t.relname
),
cons AS (
  SELECT t.relname, json_agg(json_build_object(
      'name', c.conname, 'type', c.contype,
      'columns', (SELECT json_agg(a.attname ORDER BY x.ord) FROM unnest(c.conkey) WITH ORDINALITY x(k, ord)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = x.k),
      'ref_table', CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text END,
      'ref_columns', (SELECT json_agg(a.attname ORDER BY x.ord) FROM unnest(c.confkey) WITH ORDINALITY x(k, ord)
                  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = x.k),
      'on_delete', c.confdeltype, 'on_update', c.confupdtype, 'match', c.confmatchtype,
      'deferrable', c.condeferrable, 'initially_deferred', c.condeferred,
      'validated', c.convalidated, 'definition', pg_get_constraintdef(c.oid))
    ORDER BY c.conname) AS j
  FROM tbl t JOIN pg_constraint c ON c.conrelid = t.oid
  GROUP BY t.relname
),
idx AS (
  SELECT t.relname, json_agg(json_build_object(
      'name', ic.relname, 'definition', pg_get_indexdef(i.indexrelid),
      'constraint', (SELECT conname FROM pg_constraint WHERE conindid = i.indexrelid AND conrelid = t.oid AND contype IN ('p', 'u', 'x')))
    ORDER BY ic.relname) AS j
  FROM tbl t JOIN pg_index i ON i.indrelid = t.oid JOIN pg_class ic ON ic.oid = i.indexrelid
  GROUP BY t.relname
),
trg AS (
  SELECT t.relname, json_agg(json_build_object(
      'name', g.tgname, 'definition', pg_get_triggerdef(g.oid), 'enabled', g.tgenabled <> 'D')
    ORDER BY g.tgname) AS j
  FROM tbl t JOIN pg_trigger g ON g.tgrelid = t.oid AND NOT g.tgisinternal
  GROUP BY t.relname
)
SELECT json_build_object(
  'tables', (SELECT json_object_agg(t.relname, json_build_object(
      'columns', cols.j, 'constraints', coalesce(cons.j, '[]'::json),
      'indexes', coalesce(idx.j, '[]'::json), 'triggers', coalesce(trg.j, '[]'::json)))
    FROM tbl t LEFT JOIN cols ON cols.relname = t.relname LEFT JOIN cons ON cons.relname = t.relname
    LEFT JOIN idx ON idx.relname = t.relname LEFT JOIN trg ON trg.relname = t.relname),
  'sequences', (SELECT json_object_agg(s.sequencename, json_build_object(
      'data_type', s.data_type::text, 'start', s.start_value, 'increment', s.increment_by,
      'min', s.min_value, 'max', s.max_value, 'cache', s.cache_size, 'cycle', s.cycle,
      'last_value', s.last_value,
      'owned_by', (SELECT json_build_object('table', tc.relname, 'column', a.attname)
                   FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid
                   JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                   WHERE d.classid = 'pg_class'::regclass AND d.objid = (quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename))::regclass
                     AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))))
    FROM pg_sequences s WHERE s.schemaname = 'public'),
  'functions', (SELECT json_object_agg(p.proname, json_build_object(
      'arguments', pg_get_function_arguments(p.oid), 'returns', pg_get_function_result(p.oid),
      'language', l.lanname, 'volatility', p.provolatile, 'strict', p.proisstrict,
      'security_definer', p.prosecdef, 'settings', coalesce(to_json(p.proconfig), '[]'::json),
      'body', p.prosrc))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
    WHERE n.nspname = 'public'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                      AND d.objid = p.oid AND d.deptype = 'e')),
  'extensions', (SELECT json_object_agg(e.extname, n.nspname)
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace)
)
"""

FK_ACTION = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
FK_MATCH = {"s": "SIMPLE", "f": "FULL", "p": "PARTIAL"}
VOLATILITY = {"v": "VOLATILE", "s": "STABLE", "i": "IMMUTABLE"}


def psql_json(dsn, sql):
    res = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql],
        capture_output=True, text=True,
    )
    if res.returncode != 0:
        raise SystemExit(f"psql failed ({res.returncode}): {res.stderr.strip()}")
    return json.loads(res.stdout)


def check(doc, dsn):
    """Print every difference between the database and the JSON; return count."""
    diffs = []
    notes = []

    def diff(msg):
        diffs.append(msg)

    cat = psql_json(dsn, CATALOG_SQL)
    tables = cat["tables"] or {}
    want_tables = {t["name"]: t for t in doc["tables"]}

    for name in sorted(set(tables) - set(want_tables)):
        notes.append(f"extra table (not in JSON): {name}")
    for name in sorted(set(want_tables) - set(tables)):
        diff(f"missing table: {name}")

    for name, t in want_tables.items():
        have = tables.get(name)
        if not have:
            continue
        # columns, in order
        want_cols = table_columns(t)
        have_cols = have["columns"]
        extra_names = {e["name"] for e in EXTRA_COLUMNS.get(name, [])} - {c["name"] for c in t["columns"]}
        wl = [(c["name"], c["type"], c["nullable"], c["default"]) for c in want_cols]
        hl = [(c["name"], c["type"], c["nullable"], c["default"]) for c in have_cols]
        if [c[0] for c in wl] != [c[0] for c in hl]:
            wn, hn = [c[0] for c in wl], [c[0] for c in hl]
            if sorted(wn) == sorted(hn):
                notes.append(f"{name}: column order differs: {hn}")
            else:
                for c in sorted(set(wn) - set(hn)):
                    diff(f"{name}: missing column {c}")
                for c in sorted(set(hn) - set(wn)):
                    diff(f"{name}: extra column {c}")
        hmap = {c[0]: c for c in hl}
        for c in wl:
            h = hmap.get(c[0])
            if h and h != c:
                diff(f"{name}.{c[0]}: want {c[1:]} have {h[1:]}")
        for c in sorted(extra_names):
            if c in hmap:
                notes.append(f"{name}.{c}: present (deliberate addition, not in JSON): {hmap[c][1:]}")

        # constraints
        hcons = {c["name"]: c for c in have["constraints"]}
        want_cons = {}
        if t.get("primary_key"):
            pk = t["primary_key"]
            want_cons[pk["name"]] = ("p", pk["columns"], None)
        for uc in t.get("unique_constraints") or []:
            want_cons[uc["name"]] = ("u", uc["columns"], None)
        for cc in t.get("check_constraints") or []:
            want_cons[cc["name"]] = ("c", None, None)
        for fk in t.get("foreign_keys") or []:
            want_cons[fk["name"]] = ("f", fk["columns"], fk)
        hcons_nonnull = {k: v for k, v in hcons.items() if v["type"] != "n"}  # PG18 NOT NULL constraints
        for cname in sorted(set(hcons_nonnull) - set(want_cons)):
            diff(f"{name}: extra constraint {cname} {hcons[cname]['definition']}")
        for cname, (ctype, ccols, fk) in sorted(want_cons.items()):
            h = hcons.get(cname)
            if not h:
                diff(f"{name}: missing constraint {cname}")
                continue
            if h["type"] != ctype:
                diff(f"{name}.{cname}: type {h['type']} != {ctype}")
            if ccols is not None and h["columns"] != ccols:
                diff(f"{name}.{cname}: columns {h['columns']} != {ccols}")
            if not h["validated"]:
                diff(f"{name}.{cname}: NOT VALID")
            if fk:
                ref = fk["references"]
                got = {
                    "ref_table": h["ref_table"].strip('"'), "ref_columns": h["ref_columns"],
                    "on_delete": FK_ACTION[h["on_delete"]], "on_update": FK_ACTION[h["on_update"]],
                    "match": FK_MATCH[h["match"]], "deferrable": h["deferrable"],
                    "initially_deferred": h["initially_deferred"],
                }
                exp = {
                    "ref_table": ref["table"], "ref_columns": ref["columns"],
                    "on_delete": fk["on_delete"], "on_update": fk["on_update"],
                    "match": fk["match"], "deferrable": fk["deferrable"],
                    "initially_deferred": fk["initially_deferred"],
                }
                if got != exp:
                    diff(f"{name}.{cname}: want {exp} have {got}")

        # indexes
        hidx = {i["name"]: i for i in have["indexes"]}
        widx = {i["name"]: i for i in t.get("indexes") or []}
        for iname in sorted(set(hidx) - set(widx)):
            diff(f"{name}: extra index {iname}: {hidx[iname]['definition']}")
        for iname, wi in sorted(widx.items()):
            hi = hidx.get(iname)
            if not hi:
                diff(f"{name}: missing index {iname}")
                continue
            if hi["definition"] != wi["definition"]:
                diff(f"{name}.{iname}: definition\n    want {wi['definition']}\n    have {hi['definition']}")
            if hi["constraint"] != wi["constraint"]:
                diff(f"{name}.{iname}: constraint {hi['constraint']} != {wi['constraint']}")

        # triggers
        htrg = {g["name"]: g for g in have["triggers"]}
        wtrg = {g["name"]: g for g in t.get("triggers") or []}
        for gname in sorted(set(htrg) - set(wtrg)):
            diff(f"{name}: extra trigger {gname}")
        for gname, wg in sorted(wtrg.items()):
            hg = htrg.get(gname)
            if not hg:
                diff(f"{name}: missing trigger {gname}")
            elif hg["definition"] != wg["definition"] or hg["enabled"] != wg.get("enabled", True):
                diff(f"{name}.{gname}: want {wg['definition']} have {hg['definition']}")

    # sequences
    hseq = cat["sequences"] or {}
    wseq = {s["name"]: s for s in doc["sequences"]}
    for sname in sorted(set(hseq) - set(wseq)):
        diff(f"extra sequence {sname}")
    for sname, ws in sorted(wseq.items()):
        hs = hseq.get(sname)
        if not hs:
            diff(f"missing sequence {sname}")
            continue
        for k in ("data_type", "start", "increment", "min", "max", "cache", "cycle", "owned_by", "last_value"):
            if hs[k] != ws[k]:
                (notes if k == "last_value" else diffs).append(
                    f"sequence {sname}.{k}: want {ws[k]!r} have {hs[k]!r}")

    # functions
    hfn = cat["functions"] or {}
    wfn = {f["name"]: f for f in doc["functions"]}
    for fname in sorted(set(hfn) - set(wfn)):
        diff(f"extra function {fname}")
    for fname, wf in sorted(wfn.items()):
        hf = hfn.get(fname)
        if not hf:
            diff(f"missing function {fname}")
            continue
        got = dict(hf, volatility=VOLATILITY[hf["volatility"]])
        for k in ("arguments", "returns", "language", "volatility", "strict", "security_definer", "settings", "body"):
            if got[k] != wf[k]:
                diff(f"function {fname}.{k}: want {wf[k]!r} have {got[k]!r}")

    # extensions
    hext = cat["extensions"] or {}
    for e in doc["extensions"]:
        if hext.get(e["name"]) != e["schema"]:
            diff(f"extension {e['name']}: want schema {e['schema']} have {hext.get(e['name'])}")
    for ename in sorted(set(hext) - {e["name"] for e in doc["extensions"]}):
        notes.append(f"extra extension {ename}")

    # seed rows: every seed row present with the recorded values
    for seed in doc["seed_rows"]:
        cols = seed["columns"]
        sel = ", ".join(f"'{c}', {qi(c)}" for c in cols)
        rows = psql_json(dsn, f"SELECT coalesce(json_agg(json_build_object({sel})), '[]') FROM {qt(seed['table'])}")
        key = cols[0]
        have_rows = {r[key]: r for r in rows}
        for r in seed["rows"]:
            h = have_rows.get(r[key])
            if h is None:
                diff(f"seed {seed['table']}: missing row {r[key]!r}")
            elif h != r:
                diff(f"seed {seed['table']}: row {r[key]!r} want {r} have {h}")
        extra = len(have_rows) - len(seed["rows"])
        if extra > 0:
            notes.append(f"seed {seed['table']}: {extra} row(s) beyond the seed rows")

    for n in notes:
        print("note:", n)
    for d in diffs:
        print("DIFF:", d)
    print(f"{len(diffs)} difference(s), {len(notes)} note(s); "
          f"{len(want_tables)} tables, {len(wseq)} sequences, {len(wfn)} functions checked")
    return len(diffs)


# --------------------------------------------------------------------------

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schema", default="/work/shared/domain/legacy-schema.json",
                    help="path to legacy-schema.json")
    ap.add_argument("--out", default=os.path.join(repo, "migrations", "0001_legacy_domain.sql"),
                    help="where to write the migration ('-' for stdout)")
    ap.add_argument("--check", metavar="DSN",
                    help="instead of generating, compare this database's catalog with the JSON")
    args = ap.parse_args()

    with open(args.schema, "rb") as fh:
        raw = fh.read()
    doc = json.loads(raw)

    if args.check:
        sys.exit(1 if check(doc, args.check) else 0)

    command = ("python3 scripts/legacy_schema_to_sql.py "
               "--schema /work/shared/domain/legacy-schema.json "
               "--out migrations/0001_legacy_domain.sql")
    sql = generate(doc, raw, command)
    if args.out == "-":
        sys.stdout.write(sql)
    else:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(sql)
        print(f"wrote {args.out} ({len(sql)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
