// orders-cqrs consoles (support and ops): forms post as JSON, and the answer replaces the page.
// No external code. The page scripts (support.js, ops.js) set themselves up on the
// "console:ready" event, fired once the page has loaded and again whenever an answer replaced it.
(() => {
  "use strict";

  function ready() {
    const focus = document.querySelector("[autofocus]");
    if (focus instanceof HTMLElement && document.activeElement !== focus) focus.focus();
    document.dispatchEvent(new Event("console:ready"));
  }

  function show(html, url, push) {
    const next = new DOMParser().parseFromString(html, "text/html");
    document.title = next.title;
    document.body.replaceWith(next.body);
    if (push) history.pushState(null, "", url);
    window.scrollTo(0, 0);
    ready();
  }

  // Forms marked data-json-form post their fields as JSON: the service's body guard admits
  // JSON bodies only. The answer (a redirect to a page, or the form again with a message)
  // replaces this page, as a normal form post would.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-json-form")) return;
    event.preventDefault();
    const button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/html" },
        body: JSON.stringify(Object.fromEntries(new FormData(form))),
        credentials: "same-origin",
      });
      const html = await response.text();
      const type = response.headers.get("content-type") || "";
      if (!type.startsWith("text/html")) throw new Error(`unexpected ${response.status}`);
      show(html, response.url, response.redirected);
    } catch (error) {
      if (button) button.disabled = false;
      let alert = form.querySelector("[data-submit-error]");
      if (!alert) {
        alert = document.createElement("p");
        alert.className = "alert alert-error";
        alert.setAttribute("role", "alert");
        alert.setAttribute("data-submit-error", "");
        form.append(alert);
      }
      alert.textContent = "Could not send the form. Check the connection and try again.";
    }
  });

  window.addEventListener("popstate", () => location.reload());

  // The skip link moves keyboard focus to the main content, not only the view: following a
  // fragment link leaves focus where it was in Chromium, so the next Tab would start over
  // at the top bar.
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a.skip-link") : null;
    const target = link ? document.getElementById(link.hash.slice(1)) : null;
    if (!target) return;
    event.preventDefault();
    target.focus();
    target.scrollIntoView();
  });

  // The scripts are deferred: every page script has run, and listens, before this fires.
  document.addEventListener("DOMContentLoaded", ready);
})();
