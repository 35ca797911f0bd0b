/* Tables marked .stack become labelled cards on a phone (app.css): each cell gets its
   column's header as data-label, unless the template already gave one. */
document.addEventListener("DOMContentLoaded", labelCells);
document.addEventListener("htmx:afterSettle", labelCells);
function labelCells() {
  for (const table of document.querySelectorAll("table.stack")) {
    const heads = [...table.querySelectorAll("thead th")].map(th => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => {
        if (!cell.hasAttribute("data-label") && heads[i]) cell.setAttribute("data-label", heads[i]);
      });
    }
  }
}

/* A table wider than the screen scrolls inside its .table-wrap. A keyboard user must be
   able to reach that scroll too (WCAG 2.1.1): a wrapper that overflows becomes a named,
   focusable region, named after the heading above it; one that fits stays out of the tab
   order. Checked again when the window is resized or htmx swaps content in. */
document.addEventListener("DOMContentLoaded", scrollableRegions);
document.addEventListener("htmx:afterSettle", scrollableRegions);
window.addEventListener("resize", scrollableRegions);
function scrollableRegions() {
  for (const wrap of document.querySelectorAll(".table-wrap")) {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      wrap.setAttribute("tabindex", "0");
      wrap.setAttribute("role", "region");
      if (!wrap.hasAttribute("aria-label")) wrap.setAttribute("aria-label", regionName(wrap));
    } else if (wrap.getAttribute("tabindex") === "0") {
      wrap.removeAttribute("tabindex");
      wrap.removeAttribute("role");
    }
  }
}
function regionName(wrap) {
  const caption = wrap.querySelector("caption");
  if (caption) return caption.textContent.trim();
  for (let el = wrap.previousElementSibling; el; el = el.previousElementSibling) {
    if (/^H[1-6]$/.test(el.tagName)) return el.textContent.trim();
  }
  const heading = document.querySelector("main h1, main h2");
  return heading ? heading.textContent.trim() : document.title;
}
