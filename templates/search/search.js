/* The archive's search page: MiniSearch over the index that `publisher build` wrote into
   index*.js (loaded as plain <script> files, so it works from file:// as well as http://). */
(function () {
  "use strict";
  var data = window.PUBLISHER_SEARCH;
  var form = document.getElementById("search-form");
  var input = document.getElementById("q");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  if (!data || !window.MiniSearch) { status.textContent = "The search index did not load."; return; }

  // The same words the build indexed (publisher/web/search.py): letters and digits, lowercased,
  // accents removed, one-letter words skipped.
  var options = {
    fields: data.fields,
    storeFields: ["t", "s", "i"],
    tokenize: function (text) { return text.normalize("NFC").match(/[\p{L}\p{N}]+/gu) || []; },
    processTerm: function (term) {
      var t = term.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
      return t.length > 1 ? t : null;
    },
    searchOptions: { boost: { title: 3, tags: 2 }, prefix: true, fuzzy: 0.15, combineWith: "AND" }
  };
  var engine = window.MiniSearch.loadJS(data.index, options);

  // Issues are indexed as "issue:<id>", articles by their own id: the anchor on the issue page.
  function item(result) {
    var issue = data.issues[result.i];
    var li = document.createElement("li");
    var link = document.createElement("a");
    var whole = String(result.id).indexOf("issue:") === 0;
    link.href = issue[2] + (whole ? "" : "#" + result.id);
    link.textContent = result.t;
    li.appendChild(link);
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = whole ? " Issue #" + issue[0] :
      " " + (result.s ? result.s + " · " : "") + "in #" + issue[0] + " · " + issue[1];
    li.appendChild(meta);
    return li;
  }

  function show(query) {
    list.textContent = "";
    if (!query.trim()) { status.textContent = ""; return; }
    var results = engine.search(query).slice(0, 50);
    results.forEach(function (r) { list.appendChild(item(r)); });
    status.textContent = results.length ? results.length + (results.length === 50 ? "+" : "") +
      " results for “" + query + "”" : "Nothing found for “" + query + "”";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    show(input.value);
  });
  input.addEventListener("input", function () { show(input.value); });
  var initial = new URLSearchParams(window.location.search).get("q");
  if (initial) { input.value = initial; show(initial); }
})();
