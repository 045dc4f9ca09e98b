// Progressive enhancement only: every page works without this file.
//
// It runs in <head>, before the page is drawn, so that the "js" class is
// on <html> from the first paint: on a small screen the stylesheet then
// folds the navigation behind the Menu button instead of showing it above
// the content (what a browser without JavaScript gets).
//
// The account switcher is "choose, then go": changing the select does
// nothing (arrow keys must not leave the page); its Switch button submits
// the form, with or without JavaScript.
document.documentElement.classList.add("js");

// A table's box that scrolls sideways (its card, on small screens) must
// be reachable with the keyboard to be scrolled: while it overflows it is
// a tab stop (tabindex=0), and stops being one when the window grows.
function scrollStops() {
  document.querySelectorAll(".card, .table-scroll").forEach(function (t) {
    var scrolls = t.scrollWidth > t.clientWidth + 1 && /auto|scroll/.test(getComputedStyle(t).overflowX);
    if (scrolls && !t.hasAttribute("tabindex")) {
      t.setAttribute("tabindex", "0");
      t.setAttribute("data-scroll-stop", "");
    } else if (!scrolls && t.hasAttribute("data-scroll-stop")) {
      t.removeAttribute("tabindex");
      t.removeAttribute("data-scroll-stop");
    }
  });
}

// A list table (every table but a matrix) is read as stacked rows on a
// small screen: each cell carries its column's name (data-label, shown by
// the stylesheet), and explicit roles keep the table's meaning for screen
// readers once the stylesheet stops displaying it as a table. Without
// JavaScript such a table scrolls inside its card instead.
function stackTables() {
  document.querySelectorAll("table:not(.matrix)").forEach(function (table) {
    var heads = table.tHead ? Array.prototype.map.call(table.tHead.rows[0].cells, function (th) {
      var hidden = th.querySelector(".visually-hidden");
      return hidden && hidden.textContent.trim() === th.textContent.trim() ? "" : th.textContent.trim();
    }) : [];
    table.classList.add("stack");
    table.setAttribute("role", "table");
    Array.prototype.forEach.call(table.querySelectorAll("thead, tbody"), function (g) { g.setAttribute("role", "rowgroup"); });
    Array.prototype.forEach.call(table.rows, function (row) {
      row.setAttribute("role", "row");
      var col = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        var inHead = row.parentNode === table.tHead;
        cell.setAttribute("role", inHead ? "columnheader" : cell.tagName === "TH" ? "rowheader" : "cell");
        if (!inHead && cell.colSpan === 1 && heads[col]) {
          cell.setAttribute("data-label", heads[col]);
        }
        col += cell.colSpan;
      });
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  stackTables();
  scrollStops();
  window.addEventListener("resize", scrollStops);
  var button = document.getElementById("menu-button");
  var nav = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!nav) {
    return;
  }
  function set(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("open", open);
  }
  button.addEventListener("click", function () {
    set(button.getAttribute("aria-expanded") !== "true");
  });
  // Escape closes the open menu and gives the focus back to its button.
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      set(false);
      button.focus();
    }
  });
});

// Issue 21, webhooks. The create form's events: "Select all" and
// "Select none" (hidden without JavaScript, where the member events are
// simply checked from the start). A copy button (data-copy names the
// element whose text it copies, data-copy-status the role=status element
// that says it worked): without JavaScript the button stays hidden and
// the text is plain, selectable text.
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("wh-events-all");
  var none = document.getElementById("wh-events-none");
  if (all && none) {
    var boxes = document.querySelectorAll("#webhook-form input[name=events]");
    var set = function (on) {
      Array.prototype.forEach.call(boxes, function (b) { b.checked = on; });
    };
    all.addEventListener("click", function () { set(true); });
    none.addEventListener("click", function () { set(false); });
    document.getElementById("wh-events-all-none").hidden = false;
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!source || !status || !navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        status.textContent = "Copied";
      }, function () {
        // No clipboard access: select the text, for the keyboard to copy.
        var range = document.createRange();
        range.selectNodeContents(source);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        status.textContent = "Selected: press Ctrl+C (⌘C) to copy";
      });
    });
  });
});
