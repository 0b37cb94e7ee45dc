-- PPAP Atlas: the system of record in PostgreSQL 15 + PostGIS 3 (docs/DATA.md "Database").
-- Applied once by `python -m geo db migrate` in one transaction, recorded in schema_migrations.

CREATE EXTENSION IF NOT EXISTS postgis;

-- The role the app processes act as (a login role is made a member of it: README, "A database
-- deployment"). It reads and writes the data, and may only add records to the audit log.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ppap_app') THEN
        CREATE ROLE ppap_app NOLOGIN;
    END IF;
END
$$;

-- One row: the data version, raised by every import (the lock imports take in turn) and
-- polled by the app processes to see another process's import.
CREATE TABLE data_version (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO data_version (id, version) VALUES (true, 0);

-- An import batch: one officer's import of one or more files, with its report.
CREATE TABLE imports (
    import_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    imported_at  timestamptz NOT NULL,
    mode         text NOT NULL,
    data_version bigint NOT NULL,
    rows_in      integer NOT NULL DEFAULT 0,
    accepted     integer NOT NULL DEFAULT 0,
    report       jsonb
);

-- One file of an import: its provenance entry (file, content_hash, imported_at, counts,
-- provinces, districts, rounds). A file counts as imported while `current` (a replace import
-- ends the files before it); the same file twice is refused by the unique index.
CREATE TABLE import_files (
    import_id    bigint NOT NULL REFERENCES imports (import_id),
    position     integer NOT NULL,
    file         text NOT NULL,
    content_hash text NOT NULL,
    current      boolean NOT NULL DEFAULT true,
    entry        jsonb NOT NULL,
    PRIMARY KEY (import_id, position)
);
CREATE UNIQUE INDEX import_files_current_hash ON import_files (content_hash) WHERE current;

-- Households of every survey round; the key is (household_id, survey_year). Columns follow the
-- data contract (geo/data/contract.py); only the key and the area codes are required.
CREATE TABLE households (
    household_id           text NOT NULL,
    survey_year            smallint NOT NULL,
    province_code          text NOT NULL,
    district_code          text NOT NULL,
    subdistrict_code       text,
    village_no             smallint,
    lat                    double precision,
    lon                    double precision,
    members                smallint,
    income_per_capita_year double precision,
    capital_human          double precision,
    capital_physical       double precision,
    capital_natural        double precision,
    capital_financial      double precision,
    capital_social         double precision,
    poverty_level          smallint,
    in_tpmap               boolean,
    verified               boolean,
    dep_health             boolean,
    dep_living             boolean,
    dep_education          boolean,
    dep_income             boolean,
    dep_access             boolean,
    assistance_status      text,
    pilot_id               text,
    national_id_hash       text,
    head_name              text,
    -- The order rows were first stored in: the snapshot's row order (an upsert keeps it).
    row_no                 bigint GENERATED ALWAYS AS IDENTITY,
    import_id              bigint REFERENCES imports (import_id),
    PRIMARY KEY (household_id, survey_year)
);
CREATE INDEX households_area ON households (province_code, district_code);
CREATE INDEX households_row_no ON households (row_no);  -- snapshots stream in row_no order

-- Pilot project sites (contract PILOT_COLUMNS), with their position as PostGIS geometry.
CREATE TABLE pilots (
    pilot_id          text PRIMARY KEY,
    name_th           text NOT NULL,
    name_en           text NOT NULL,
    kind              text NOT NULL,
    university        text NOT NULL,
    province_code     text NOT NULL,
    district_code     text NOT NULL,
    lat               double precision NOT NULL,
    lon               double precision NOT NULL,
    start_year        smallint NOT NULL,
    households_target integer NOT NULL,
    illustrative      boolean,
    geom              geometry(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED
);

-- Administrative boundaries (province, district, subdistrict) as PostGIS geometry, with the
-- installed release's manifest.
CREATE TABLE boundaries (
    level     text NOT NULL CHECK (level IN ('province', 'district', 'subdistrict')),
    code      text NOT NULL,
    name_th   text,
    name_en   text,
    parent    text,
    geom      geometry(MultiPolygon, 4326) NOT NULL,
    PRIMARY KEY (level, code)
);
CREATE INDEX boundaries_geom ON boundaries USING gist (geom);
CREATE TABLE boundary_release (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    manifest jsonb NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);

-- The audit log (geo/access/audit.py): one JSON line per record, chained by SHA-256 as in the
-- file log. The app role may only INSERT; a trigger refuses a record that does not follow the
-- last one, and reading goes through the two functions below.
CREATE TABLE audit_log (
    seq  bigint PRIMARY KEY,
    line text NOT NULL,
    prev text NOT NULL,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE FUNCTION ppap_audit_tail(OUT seq bigint, OUT line_sha256 text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT seq, encode(sha256(convert_to(line, 'UTF8')), 'hex') FROM audit_log ORDER BY seq DESC LIMIT 1
$$;

CREATE FUNCTION ppap_audit_lines(after_seq bigint DEFAULT 0)
RETURNS TABLE (seq bigint, line text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT a.seq, a.line FROM audit_log a WHERE a.seq > after_seq ORDER BY a.seq
$$;

CREATE FUNCTION ppap_audit_follows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    last record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ppap_audit_log'));
    SELECT t.seq, t.line_sha256 INTO last FROM ppap_audit_tail() t;
    IF NEW.seq <> coalesce(last.seq, 0) + 1
       OR NEW.prev <> coalesce(last.line_sha256, repeat('0', 64)) THEN
        RAISE EXCEPTION 'audit record % does not follow record % (chain)', NEW.seq, coalesce(last.seq, 0)
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_follows BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION ppap_audit_follows();

REVOKE ALL ON audit_log FROM PUBLIC;
REVOKE ALL ON FUNCTION ppap_audit_tail(), ppap_audit_lines(bigint), ppap_audit_follows() FROM PUBLIC;
GRANT INSERT ON audit_log TO ppap_app;
GRANT EXECUTE ON FUNCTION ppap_audit_tail(), ppap_audit_lines(bigint) TO ppap_app;

GRANT SELECT, INSERT, UPDATE, DELETE ON households, pilots, imports, import_files TO ppap_app;
GRANT SELECT, UPDATE ON data_version TO ppap_app;
GRANT SELECT ON boundaries, boundary_release, schema_migrations TO ppap_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ppap_app;
