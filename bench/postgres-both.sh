# Sourced by bench/postgres-export.sh and bench/postgres-serve.sh: one SQLite store copied into
# PostgreSQL, and a server started on either. Needs `bin`, `store`, `rows`, `url`, `schema` and
# `work` set.

# Writes both configs, makes a key (in SQLite, copied with the store: the same key serves from
# both) into `key`, and copies the store into PostgreSQL, timed.
copy_into_postgres() { # key name
    printf '[store]\nsqlite = "%s"\n' "$store" >"$work/sqlite.toml"
    printf '[store]\npostgres = "%s"\nschema = "%s"\n' "$url" "$schema" >"$work/postgres.toml"
    key="$("$bin" keys --config "$work/sqlite.toml" create --name "$1" 2>/dev/null)"
    echo "== store copy of $rows rows into PostgreSQL (schema $schema)"
    local started
    started=$(date +%s.%N)
    "$bin" store copy --config "$work/sqlite.toml" --to "$url" --schema "$schema" >"$work/copy.out"
    awk -v a="$started" -v b="$(date +%s.%N)" -v r="$rows" \
        'BEGIN { printf "copied in %.1f s = %.0f rows/s (every table, keys and day rollups too)\n", b - a, r / (b - a) }'
}

serve() { # config, name -> sets base_<name>, pid_<name>
    "$bin" serve --config "$1" --listen 127.0.0.1:0 >"$work/$2.out" 2>"$work/$2.err" &
    printf -v "pid_$2" '%s' $!
    for _ in $(seq 100); do grep -q '^GENESYS_BI_URL=' "$work/$2.out" 2>/dev/null && break; sleep 0.1; done
    printf -v "base_$2" '%s' "$(sed -n 's/^GENESYS_BI_URL=//p' "$work/$2.out")"
    local base_var="base_$2"
    [[ -n "${!base_var}" ]] || { cat "$work/$2.err"; echo "the $2 server did not start" >&2; exit 1; }
}
