#!/usr/bin/env node
// Reads the server's OData v4 feed the way a BI tool does, with real client libraries:
// @odata/metadata holds the CSDL model of `$metadata` and @odata/client makes every query, with
// Basic auth (any user name, the API key as the password), as Power BI's "OData Feed" does.
//
//   node odata_client.mjs <service-root-url> <api-key> [--set NAME] [--page-size N]
//
// --set names the dataset to read (default: the first with queue_id, media_type, n_offered);
// --page-size sends `Prefer: odata.maxpagesize=N` (default: the server's page size).
//
// Prints one JSON document on stdout: the entity sets, their properties (with descriptions) and
// navigation properties as the metadata library parsed them, a full read of one dataset (every page, by following @odata.nextLink)
// with its row count and sums, filtered/ordered/paged queries with the parameters they used,
// counts, the dataset's daily KPI feed read with $expand=queue, what a wrong key gets, and every
// HTTP exchange (status, content type, OData-Version).
// The Rust test crates/server/tests/odata_client.rs checks these figures against the store.
//
// Two gaps of the libraries are bridged here, and only these:
// - @odata/metadata builds its model from the XML-as-JSON form (elements as arrays under
//   lowerCamelCase names, attributes as lowerCamelCase fields); it has no XML reader, so
//   fast-xml-parser turns the `$metadata` document into that form first.
// - @odata/client's EntitySet API returns the first page only; the pages after it are read
//   with the same client (`newRequest`) at the `@odata.nextLink` address, relative to the root.

import { OData, ODataDateTimeOffset } from "@odata/client";
import metadataLibrary from "@odata/metadata";
import { XMLParser } from "fast-xml-parser";

const { ServiceMetadata } = metadataLibrary;

function usage(message) {
  process.stderr.write(
    `${message}\nusage: node odata_client.mjs <service-root-url> <api-key> [--set NAME] [--page-size N]\n`,
  );
  process.exit(2);
}

const args = process.argv.slice(2);
const positional = [];
const options = { set: null, pageSize: null };
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--set") options.set = args[++i];
  else if (args[i] === "--page-size") options.pageSize = Number(args[++i]);
  else positional.push(args[i]);
}
if (positional.length !== 2) usage("expected a service root URL and an API key");
// The client appends entity set names to the root as they are: it must end with a slash.
const root = positional[0].endsWith("/") ? positional[0] : `${positional[0]}/`;
const apiKey = positional[1];
if (options.pageSize !== null && !(options.pageSize > 0)) usage("--page-size takes a number > 0");

/** Every HTTP exchange any client made, in order. */
const exchanges = [];

/** The client's transport: fetch, recording each exchange; non-2xx answers throw. */
async function recordingFetch(url, init) {
  const response = await fetch(url, init);
  const text = await response.text();
  const contentType = response.headers.get("content-type");
  exchanges.push({
    method: init?.method ?? "GET",
    url,
    status: response.status,
    contentType,
    odataVersion: response.headers.get("odata-version"),
    preferenceApplied: response.headers.get("preference-applied"),
    wwwAuthenticate: response.headers.get("www-authenticate"),
  });
  if (!response.ok) {
    const error = new Error(`HTTP ${response.status} for ${url}: ${text.slice(0, 300)}`);
    error.status = response.status;
    throw error;
  }
  let content = text;
  if (contentType?.startsWith("application/json")) content = JSON.parse(text);
  return { content, response };
}

function client(password) {
  const commonHeaders = {};
  if (options.pageSize) commonHeaders.Prefer = `odata.maxpagesize=${options.pageSize}`;
  return OData.New4({
    serviceEndpoint: root,
    credential: { username: "powerbi", password },
    commonHeaders,
    fetchProxy: recordingFetch,
  });
}

const odata = client(apiKey);

// ---- $metadata, through @odata/metadata ----------------------------------------------------

async function readMetadata() {
  const { content: xml, response } = await recordingFetch(`${root}$metadata`, {
    headers: { Authorization: `Basic ${Buffer.from(`powerbi:${apiKey}`).toString("base64")}` },
  });
  if (typeof xml !== "string" || !xml.startsWith("<?xml")) {
    throw new Error(`$metadata is not XML (${response.headers.get("content-type")})`);
  }
  const parsed = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    removeNSPrefix: true,
    isArray: (_name, _path, _isLeaf, isAttribute) => !isAttribute,
  }).parse(xml);
  const lowerCamel = (name) => name[0].toLowerCase() + name.slice(1);
  const convert = (node) => {
    if (Array.isArray(node)) return node.map(convert);
    if (node === null || typeof node !== "object") return node;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [lowerCamel(k), convert(v)]));
  };
  const edmxJson = convert(parsed).edmx?.[0];
  if (!edmxJson) throw new Error("$metadata has no edmx:Edmx root");
  if (edmxJson.version !== "4.0") throw new Error(`EDMX version ${edmxJson.version}, not 4.0`);
  edmxJson.dataServices = edmxJson.dataServices?.[0]; // one DataServices element
  const model = ServiceMetadata.loadFromJson(edmxJson);
  // Walked by hand: the library's getAllEntitySets() shares a cache key with
  // getAllEntityTypes() and answers with entity types once those were asked for.
  const types = new Map();
  const sets = [];
  let namespace = null;
  for (const schema of model.edmx.dataServices.schemas) {
    namespace = schema.namespace;
    for (const type of schema.entityTypes) types.set(`${schema.namespace}.${type.name}`, type);
    for (const container of schema.entityContainer) sets.push(...container.entitySets);
  }
  const entitySets = sets.map((set) => {
    const type = types.get(set.entityType);
    if (!type) throw new Error(`entity set ${set.name} names unknown type ${set.entityType}`);
    return {
      name: set.name,
      entityType: set.entityType,
      key: (type.key?.propertyRefs ?? []).map((r) => r.name),
      properties: type.properties.map((p) => ({
        name: p.name,
        type: p.type,
        // The library keeps the attribute text; absent means nullable (CSDL default).
        nullable: p.nullable === undefined ? true : String(p.nullable) === "true",
        description:
          (p.annotations ?? []).find((a) => a.term === "Core.Description")?.string ?? null,
      })),
      navigation: (type.navigationProperties ?? []).map((n) => ({
        name: n.name,
        type: n.type,
        constraints: (n.referentialConstraints ?? []).map((c) => ({
          property: c.property,
          referencedProperty: c.referencedProperty,
        })),
      })),
    };
  });
  return { namespace, entitySets };
}

// ---- reading -------------------------------------------------------------------------------

const INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,12})?)?(Z|[+-]\d\d:\d\d)$/;

/** Why `value` is not a valid JSON value of the EDM type, or null if it is. */
function typeError(property, value) {
  if (value === null) return property.nullable ? null : "null in a non-nullable property";
  switch (property.type) {
    case "Edm.String":
      return typeof value === "string" ? null : `not a string: ${JSON.stringify(value)}`;
    case "Edm.Int64":
    case "Edm.Int32":
      return Number.isInteger(value) ? null : `not an integer: ${JSON.stringify(value)}`;
    case "Edm.Double":
      return typeof value === "number" ? null : `not a number: ${JSON.stringify(value)}`;
    case "Edm.Date":
      return typeof value === "string" && /^\d{4}-\d\d-\d\d$/.test(value)
        ? null
        : `not a Date: ${JSON.stringify(value)}`;
    case "Edm.DateTimeOffset":
      return typeof value === "string" && INSTANT.test(value) && !Number.isNaN(Date.parse(value))
        ? null
        : `not a DateTimeOffset: ${JSON.stringify(value)}`;
    default:
      return `unexpected type ${property.type}`;
  }
}

/**
 * Every page of a query: the first through the client's request API with `params`, the next
 * ones at each `@odata.nextLink` (which must lie under the service root the client uses).
 */
async function readAll(set, params, entitySet) {
  const pages = [];
  const rows = [];
  const typeErrors = [];
  let response = await odata.newRequest({ collection: set, params });
  for (;;) {
    if (!Array.isArray(response?.value)) {
      throw new Error(`${set}: no value array in ${JSON.stringify(response).slice(0, 300)}`);
    }
    const next = response["@odata.nextLink"] ?? null;
    pages.push({
      rows: response.value.length,
      count: response["@odata.count"] ?? null,
      context: response["@odata.context"] ?? null,
      nextLink: next,
    });
    for (const row of response.value) {
      rows.push(row);
      if (entitySet && typeErrors.length < 20) {
        for (const [name, value] of Object.entries(row)) {
          if (name.includes("@")) continue; // instance annotations
          if (entitySet.navigation.some((n) => n.name === name)) continue; // expanded
          const property = entitySet.properties.find((p) => p.name === name);
          const error = property ? typeError(property, value) : "not a property in $metadata";
          if (error) typeErrors.push(`${set}.${name}: ${error}`);
        }
      }
    }
    if (next === null) break;
    if (pages.length > 1000) throw new Error(`${set}: @odata.nextLink does not end`);
    if (!next.startsWith(root)) {
      throw new Error(`${set}: @odata.nextLink ${next} is not under the service root ${root}`);
    }
    response = await odata.newRequest({ collection: next.slice(root.length) });
  }
  return { pages, rows, typeErrors };
}

function ids(rows) {
  return rows.map((r) => r.id);
}

/** Sum per numeric property (Int64 and Double), skipping nulls. */
function sums(rows, entitySet) {
  const out = {};
  for (const p of entitySet.properties) {
    if (p.name === "id" || !["Edm.Int64", "Edm.Double"].includes(p.type)) continue;
    out[p.name] = rows.reduce((total, r) => total + (r[p.name] ?? 0), 0);
  }
  return out;
}

// ---- the run -------------------------------------------------------------------------------

async function main() {
  const metadata = await readMetadata();
  const serviceDocument = await odata.newRequest({ collection: "" });
  const listed = (serviceDocument.value ?? []).map((s) => s.name);

  // The queries below use these properties (a queue dataset, like queue_performance).
  const needed = ["id", "interval_start", "queue_id", "media_type", "n_offered"];
  const fits = (s) => needed.every((name) => s.properties.some((p) => p.name === name));
  const setName = options.set ?? metadata.entitySets.find(fits)?.name;
  const entitySet = metadata.entitySets.find((s) => s.name === setName);
  if (!entitySet || !fits(entitySet)) {
    throw new Error(`${setName ?? "no entity set"}: want an entity set with ${needed.join(", ")}`);
  }

  // 1. The whole entity set, every page, with $count (as a BI refresh reads it).
  const full = await readAll(setName, odata.newOptions().count(true), entitySet);
  const fullIds = ids(full.rows);
  const starts = full.rows.map((r) => r.interval_start).sort();
  const queues = [...new Set(full.rows.map((r) => r.queue_id).filter((q) => q))].sort();

  // Every other entity set: its first page and count (rows typed as the metadata says).
  const others = {};
  for (const s of metadata.entitySets.filter((s) => s.name !== setName)) {
    const page = await odata.newRequest({ collection: s.name, params: odata.newOptions().count(true) });
    const typeErrors = page.value.flatMap((row) =>
      s.properties.map((p) => typeError(p, row[p.name])).filter((e) => e),
    );
    others[s.name] = { count: page["@odata.count"], firstPage: page.value.length, typeErrors };
  }

  // Parameters for the filtered queries, taken from the data read.
  const queue = queues[0];
  const prefix = queue.slice(0, 2);
  const day = 24 * 3600 * 1000;
  const from = new Date(Date.parse(starts[0]) + day);
  const to = new Date(from.getTime() + day);
  const iso = (d) => d.toISOString().replace(".000Z", "Z");

  // 2. The client's filter builder: eq on a string, ge/lt on a DateTimeOffset (the builder
  //    writes them as datetimeoffset'…'), and contains() compared with true, with $select,
  //    $orderby on two properties, $top, $skip and $count.
  const builderFilter = odata
    .newFilter()
    .property("queue_id")
    .eq(queue)
    .property("interval_start")
    .ge(ODataDateTimeOffset.from(from))
    .property("interval_start")
    .lt(ODataDateTimeOffset.from(to))
    .property("contains(media_type,'oi')")
    .eq(true);
  const builderParams = odata
    .newOptions()
    .select(["id", "queue_id", "media_type", "interval_start", "n_offered"])
    .filter(builderFilter)
    .orderby([
      { field: "n_offered", order: "desc" },
      { field: "interval_start", order: "asc" },
    ])
    .top(40)
    .skip(3)
    .count(true);
  const builder = await readAll(setName, builderParams, entitySet);

  // 3. A filter written as OData v4 text (bare DateTimeOffset literals, startswith, or, not),
  //    read through every page.
  const textFilter =
    `startswith(queue_id,'${prefix}') and interval_start ge ${iso(from)} and ` +
    `interval_start lt ${iso(to)} and (n_offered gt 2 or media_type eq 'email') and ` +
    `not (media_type eq 'callback')`;
  const textParams = odata
    .newOptions()
    .select(["id", "n_offered"])
    .filter(textFilter)
    .orderby("id", "asc")
    .count(true);
  const text = await readAll(setName, textParams, entitySet);

  // 4. The EntitySet API's count ($top=1&$count=true) and query (first page only).
  const sets = odata.getEntitySet(setName);
  const voiceCount = await sets.count(odata.newFilter().property("media_type").eq("voice"));
  const firstPage = await sets.query(odata.newOptions().select(["id"]).top(5));
  // The /$count segment (what Power Query asks for Table.RowCount): plain text.
  const segmentCount = await odata.newRequest({
    collection: `${setName}/$count`,
    params: odata.newOptions().filter(odata.newFilter().property("media_type").eq("voice")),
  });

  // 5. A KPI feed per local day with its queue expanded (the navigation property the
  //    metadata declares), every page.
  const daily = `${setName}_daily_kpi`;
  const dailySet = metadata.entitySets.find((s) => s.name === daily);
  let expanded = null;
  if (dailySet) {
    const read = await readAll(daily, odata.newOptions().expand("queue").count(true), dailySet);
    expanded = {
      set: daily,
      count: read.pages[0].count,
      pages: read.pages.length,
      rows: read.rows.map((r) => ({
        id: r.id,
        date: r.date,
        queue_id: r.queue_id,
        queue_name: r.queue_name,
        queue: r.queue,
      })),
      typeErrors: read.typeErrors,
    };
  }

  // 6. A wrong key: the client must see the refusal.
  const exchangesBefore = exchanges.length;
  let wrongKey;
  try {
    await client("not-the-key").getEntitySet(setName).query(odata.newOptions().top(1));
    wrongKey = { refused: false, status: exchanges.at(-1)?.status ?? null };
  } catch (error) {
    wrongKey = {
      refused: true,
      status: error.status ?? null,
      message: String(error.message).slice(0, 200),
      wwwAuthenticate: exchanges.slice(exchangesBefore).at(-1)?.wwwAuthenticate ?? null,
    };
  }

  return {
    serviceRoot: root,
    pageSize: options.pageSize,
    metadata,
    serviceDocument: listed,
    full: {
      set: setName,
      rows: full.rows.length,
      distinctIds: new Set(fullIds).size,
      pages: full.pages,
      sums: sums(full.rows, entitySet),
      nulls: Object.fromEntries(
        entitySet.properties.map((p) => [p.name, full.rows.filter((r) => r[p.name] === null).length]),
      ),
      missing: full.rows.filter((r) => entitySet.properties.some((p) => !(p.name in r))).length,
      firstIntervalStart: starts[0],
      lastIntervalStart: starts.at(-1),
      typeErrors: full.typeErrors,
    },
    others,
    builderQuery: {
      filter: builderFilter.build(),
      query: builderParams.toString("v4"),
      parameters: { queue, from: from.toISOString(), to: to.toISOString() },
      count: builder.pages[0].count,
      pages: builder.pages.length,
      ids: ids(builder.rows),
      columns: [...new Set(builder.rows.flatMap((r) => Object.keys(r)))],
      rows: builder.rows,
      typeErrors: builder.typeErrors,
    },
    textQuery: {
      filter: textFilter,
      query: textParams.toString("v4"),
      parameters: { prefix, from: from.toISOString(), to: to.toISOString() },
      count: text.pages[0].count,
      pages: text.pages.length,
      ids: ids(text.rows),
      typeErrors: text.typeErrors,
    },
    entitySetApi: { voiceCount, segmentCount, firstPageIds: ids(firstPage ?? []) },
    expanded,
    wrongKey,
    exchanges,
  };
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result, null, 1)}\n`),
  (error) => {
    process.stderr.write(`odata_client: ${error.stack ?? error}\n`);
    process.stdout.write(`${JSON.stringify({ error: String(error.message ?? error), exchanges })}\n`);
    process.exit(1);
  },
);
