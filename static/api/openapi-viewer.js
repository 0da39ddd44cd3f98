/* Qingqian's own OpenAPI renderer: fetches the document and lists every operation and schema.
 * No dependency and no outside request, so the page works offline. Text is inserted with
 * textContent only, never as HTML. */
(function () {
  "use strict";
  var root = document.getElementById("spec");
  var L = root.dataset;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function resolve(spec, schema) {
    var seen = 0;
    while (schema && schema.$ref && seen++ < 10) {
      var parts = schema.$ref.replace(/^#\//, "").split("/");
      schema = parts.reduce(function (acc, p) { return acc && acc[p]; }, spec);
    }
    return schema || {};
  }

  function typeOf(schema) {
    if (!schema) return "";
    if (schema.$ref) return schema.$ref.split("/").pop();
    if (schema.anyOf) return schema.anyOf.map(typeOf).join(" | ");
    if (schema.allOf) return schema.allOf.map(typeOf).join(" & ");
    var t = Array.isArray(schema.type) ? schema.type.join(" | ") : (schema.type || "");
    if (t === "array" && schema.items) return typeOf(schema.items) + "[]";
    return t + (schema.format ? " (" + schema.format + ")" : "");
  }

  function schemaTable(spec, schema) {
    schema = resolve(spec, schema);
    var props = schema.properties || {};
    var required = schema.required || [];
    var table = el("table");
    Object.keys(props).forEach(function (name) {
      var row = el("tr");
      row.appendChild(el("td", null, name + (required.indexOf(name) >= 0 ? " *" : "")));
      row.appendChild(el("td", null, typeOf(props[name])));
      row.appendChild(el("td", null, props[name].description || ""));
      table.appendChild(row);
    });
    return table;
  }

  function operation(spec, path, method, op) {
    var box = el("div", "op");
    box.id = op.operationId || (method + path);
    var head = el("div");
    head.appendChild(el("span", "method " + method, method));
    head.appendChild(el("code", null, path));
    head.appendChild(el("span", null, "  " + (op.summary || "")));
    box.appendChild(head);
    if (op["x-scope"]) box.appendChild(el("div", "muted", L.lScope + ": " + op["x-scope"]));
    if (op.description) box.appendChild(el("p", null, op.description));
    if (op.parameters && op.parameters.length) {
      box.appendChild(el("strong", null, L.lParameters));
      var table = el("table");
      op.parameters.forEach(function (p) {
        var row = el("tr");
        row.appendChild(el("td", null, p.name + (p.required ? " *" : "")));
        row.appendChild(el("td", null, p.in));
        row.appendChild(el("td", null, typeOf(p.schema)));
        row.appendChild(el("td", null, p.description || ""));
        table.appendChild(row);
      });
      box.appendChild(table);
    }
    if (op.requestBody) {
      box.appendChild(el("strong", null, L.lBody));
      var content = op.requestBody.content || {};
      Object.keys(content).forEach(function (type) {
        box.appendChild(el("div", "muted", type));
        box.appendChild(schemaTable(spec, content[type].schema));
      });
    }
    box.appendChild(el("strong", null, L.lResponses));
    var list = el("ul");
    Object.keys(op.responses || {}).forEach(function (status) {
      var r = resolve(spec, op.responses[status]);
      list.appendChild(el("li", null, status + " — " + (r.description || "")));
    });
    box.appendChild(list);
    return box;
  }

  function render(spec) {
    root.textContent = "";
    document.getElementById("title").textContent = spec.info.title + " " + spec.info.version;
    root.appendChild(el("p", null, spec.info.description || ""));
    var groups = {};
    Object.keys(spec.paths).forEach(function (path) {
      Object.keys(spec.paths[path]).forEach(function (method) {
        var op = spec.paths[path][method];
        var tag = (op.tags && op.tags[0]) || "";
        (groups[tag] = groups[tag] || []).push([path, method, op]);
      });
    });
    Object.keys(groups).forEach(function (tag) {
      root.appendChild(el("h2", null, tag));
      groups[tag].forEach(function (entry) {
        root.appendChild(operation(spec, entry[0], entry[1], entry[2]));
      });
    });
    root.appendChild(el("h2", null, L.lSchemas));
    var schemas = (spec.components && spec.components.schemas) || {};
    Object.keys(schemas).forEach(function (name) {
      var box = el("div", "op");
      box.id = "schema-" + name;
      box.appendChild(el("strong", null, name));
      box.appendChild(schemaTable(spec, schemas[name]));
      root.appendChild(box);
    });
  }

  fetch(root.dataset.specUrl, { credentials: "omit" })
    .then(function (r) { return r.json(); })
    .then(render)
    .catch(function () { root.textContent = L.lFailed; });
})();
