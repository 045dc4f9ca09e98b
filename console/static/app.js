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

// issue 21, teampage: a link with data-dialog (the Team page's "Invite
// people") opens that <dialog> instead of its own page, which is what a
// browser without JavaScript (or without <dialog>) follows. A dialog whose
// forms carry an error opens at once. Row menus (<details class="row-menu">)
// work without this; here one is open at a time, and Escape or a click
// elsewhere closes it.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("a[data-dialog]").forEach(function (opener) {
    var dialog = document.getElementById(opener.getAttribute("data-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") {
      return;
    }
    opener.addEventListener("click", function (e) {
      e.preventDefault();
      dialog.showModal();
      var first = dialog.querySelector("input:not([type=hidden])");
      if (first) {
        first.focus();
      }
    });
  });
  document.querySelectorAll("dialog").forEach(function (d) {
    d.querySelectorAll("[data-close-dialog]").forEach(function (b) {
      b.addEventListener("click", function () { d.close(); });
    });
    if (d.querySelector(".field-error") && typeof d.showModal === "function") {
      d.showModal();
    }
  });
  var menus = document.querySelectorAll("details.row-menu");
  menus.forEach(function (m) {
    m.addEventListener("toggle", function () {
      if (m.open) {
        menus.forEach(function (o) { if (o !== m) { o.open = false; } });
      }
    });
  });
  document.addEventListener("click", function (e) {
    menus.forEach(function (m) { if (m.open && !m.contains(e.target)) { m.open = false; } });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") {
      return;
    }
    menus.forEach(function (m) {
      if (m.open) {
        m.open = false;
        m.querySelector("summary").focus();
      }
    });
  });
});

// issue 21: a button with data-copy copies the text of the element it
// names (a webhook's signing secret; the recovery codes, one a line), and
// says so in its status element (data-copy-status, else the button's id
// + "-status", role=status). It is hidden without JavaScript, where the
// text is plain and selectable (and the codes can be downloaded). Without
// clipboard access the text is selected, for the keyboard to copy.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy-status") || button.id + "-status");
    if (!source || !navigator.clipboard) {
      return;
    }
    var say = function (words) { if (status) { status.textContent = words; } };
    button.hidden = false;
    button.addEventListener("click", function () {
      var items = source.querySelectorAll("li");
      var text = items.length ? Array.prototype.map.call(items, function (li) {
        return li.textContent.trim();
      }).join("\n") + "\n" : source.textContent.trim();
      navigator.clipboard.writeText(text).then(function () {
        say("Copied");
      }, function () {
        var range = document.createRange();
        range.selectNodeContents(source);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        say("Selected: press Ctrl+C (⌘C) to copy");
      });
    });
  });
});

// Issue 21, webhooks. The create form's events: "Select all" and
// "Select none" (hidden without JavaScript, where the member events are
// simply checked from the start).
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
});
