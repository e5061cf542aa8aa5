// orders-cqrs support console: keyboard shortcuts, the catching-up reload, and short search
// addresses (console.js posts the forms). Every page works without this file but for those.
(() => {
  "use strict";

  const CATCH_UP_MAX_RELOADS = 40;

  const isTyping = (el) =>
    el instanceof HTMLElement &&
    (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));

  const results = () => Array.from(document.querySelectorAll("[data-result]"));

  function move(step) {
    const list = results();
    if (list.length === 0) return false;
    const at = list.indexOf(document.activeElement);
    const next = at === -1 ? (step > 0 ? 0 : list.length - 1) : at + step;
    const target = list[Math.max(0, Math.min(list.length - 1, next))];
    target.focus();
    target.scrollIntoView({ block: "nearest" });
    return true;
  }

  // "/" focuses the search box; j/k or the arrow keys walk the results; Enter opens (a link).
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const search = document.querySelector("[data-search-input]");
    const inSearch = target === search;
    let handled = false;
    if (event.key === "/" && !isTyping(target)) {
      if (search) {
        search.focus();
        search.select();
      } else {
        location.assign("/support");  // the search page focuses its box
      }
      handled = true;
    } else if (event.key === "Escape" && inSearch) {
      search.blur();
      handled = true;
    } else if ((event.key === "j" && !isTyping(target)) || (event.key === "ArrowDown" && (inSearch || !isTyping(target)))) {
      handled = move(1);
    } else if ((event.key === "k" && !isTyping(target)) || (event.key === "ArrowUp" && !isTyping(target))) {
      handled = move(-1);
    }
    if (handled) event.preventDefault();
  });

  // Catching up: reload until the read model holds the version the page asked for.
  function catchUp() {
    const key = `catch-up:${location.pathname}${location.search}`;
    const notice = document.querySelector("[data-catching-up]");
    if (!notice) {
      sessionStorage.removeItem(key);
      return;
    }
    const reloads = Number(sessionStorage.getItem(key) || "0");
    if (reloads >= CATCH_UP_MAX_RELOADS) {
      const stalled = notice.querySelector("[data-stalled]");
      if (stalled) stalled.hidden = false;
      return;
    }
    sessionStorage.setItem(key, String(reloads + 1));
    setTimeout(() => location.reload(), Math.min(250 * (reloads + 1), 2000));
  }

  // The search form leaves empty filters out of the address, so links stay short.
  function searchWithoutBlanks(event, form) {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (typeof value === "string" && value.trim() !== "") params.append(name, value.trim());
    }
    const query = params.toString();
    location.assign(form.action + (query ? `?${query}` : ""));
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.method.toLowerCase() === "get"
        && form.hasAttribute("data-search-form")) {
      searchWithoutBlanks(event, form);
    }
  });

  document.addEventListener("console:ready", catchUp);
})();
