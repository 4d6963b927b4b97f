// Ledgerline's one script. The pages work without it; it adds the phone menu, toasts that come and go,
// focus on error summaries and the tenant switcher's submit on change. No inline handlers: the
// Content-Security-Policy allows only scripts with the page's nonce.
(function () {
  'use strict';

  const TOAST_KINDS = ['success', 'error', 'info'];
  const TOAST_LIFETIME_MS = 5000;
  const TOAST_FADE_MS = 300;
  const doc = document;

  // Lets the stylesheet tell "script running" from "no script" (menu button, dismiss buttons).
  doc.documentElement.classList.add('js');

  // ---------------------------------------------------------------- phone navigation

  function setNavOpen(button, nav, open) {
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
    nav.classList.toggle('sidebar--open', open);
  }

  function initNav() {
    const button = doc.querySelector('[data-nav-toggle]');
    if (!button) return;
    const nav = doc.getElementById(button.getAttribute('aria-controls'));
    if (!nav) return;

    button.addEventListener('click', function () {
      setNavOpen(button, nav, button.getAttribute('aria-expanded') !== 'true');
    });
    doc.addEventListener('keydown', function (event) {
      if (event.key === 'Escape' && button.getAttribute('aria-expanded') === 'true') {
        setNavOpen(button, nav, false);
        button.focus();
      }
    });
  }

  // ---------------------------------------------------------------- toasts

  function toastRegion() {
    return doc.getElementById('toasts');
  }

  function removeToast(toast) {
    if (toast.classList.contains('toast--leaving')) return;
    toast.classList.add('toast--leaving');
    setTimeout(function () {
      toast.remove();
    }, TOAST_FADE_MS);
  }

  // Success and info toasts fade after a while, but not while the pointer or focus is on them, so
  // nobody loses a message they are reading. Error toasts stay until dismissed.
  function scheduleRemoval(toast) {
    if (toast.getAttribute('data-toast') === 'error') return;
    setTimeout(function check() {
      if (!toast.isConnected) return;
      if (toast.matches(':hover, :focus-within')) {
        setTimeout(check, 1000);
        return;
      }
      removeToast(toast);
    }, TOAST_LIFETIME_MS);
  }

  // Builds the same markup as the toast component in views/layout/shell.templ.
  function showToast(kind, message) {
    const region = toastRegion();
    if (!region || !message) return;
    if (TOAST_KINDS.indexOf(kind) < 0) kind = 'info';

    const toast = doc.createElement('div');
    toast.className = 'toast toast--' + kind;
    toast.setAttribute('data-toast', kind);
    if (kind === 'error') toast.setAttribute('role', 'alert');

    const text = doc.createElement('p');
    text.className = 'toast__message';
    text.textContent = String(message);

    const dismiss = doc.createElement('button');
    dismiss.type = 'button';
    dismiss.className = 'toast__dismiss';
    dismiss.setAttribute('data-toast-dismiss', '');
    const cross = doc.createElement('span');
    cross.setAttribute('aria-hidden', 'true');
    cross.textContent = '×';
    const label = doc.createElement('span');
    label.className = 'visually-hidden';
    label.textContent = 'Dismiss';
    dismiss.append(cross, label);

    toast.append(text, dismiss);
    region.append(toast);
    scheduleRemoval(toast);
  }

  function initToasts() {
    const region = toastRegion();
    if (!region) return;

    region.querySelectorAll('[data-toast]').forEach(scheduleRemoval);
    region.addEventListener('click', function (event) {
      const button = event.target.closest('[data-toast-dismiss]');
      if (button) removeToast(button.closest('[data-toast]'));
    });

    // A handler asks for a toast with the response header
    //   HX-Trigger: {"showToast":{"kind":"success","message":"Invoice issued"}}
    doc.addEventListener('showToast', function (event) {
      const detail = event.detail || {};
      showToast(detail.kind, detail.message);
    });

    // 4xx/5xx responses other than 422 are not swapped (see the htmx-config meta element). Without a
    // word from the server the click would seem to do nothing, so say something.
    doc.addEventListener('htmx:responseError', function (event) {
      const xhr = event.detail && event.detail.xhr;
      const trigger = xhr ? xhr.getResponseHeader('HX-Trigger') || '' : '';
      if (trigger.indexOf('showToast') >= 0) return;
      const status = xhr ? xhr.status : 0;
      if (status === 403) {
        showToast('error', 'You do not have permission to do that.');
      } else if (status === 429) {
        showToast('error', 'Too many requests. Wait a minute, then try again.');
      } else {
        showToast('error', 'Something went wrong. Try again, and if it keeps happening, contact support.');
      }
    });
    doc.addEventListener('htmx:sendError', function () {
      showToast('error', 'Could not reach Ledgerline. Check your connection and try again.');
    });
  }

  // ---------------------------------------------------------------- forms

  // After a failed submit, move focus to the error summary so it is read first (as GOV.UK does).
  function focusErrorSummary(root) {
    const selector = '[data-error-summary]';
    const summary = root.matches && root.matches(selector) ? root : root.querySelector(selector);
    if (summary) summary.focus();
  }

  function initForms() {
    focusErrorSummary(doc);
    // htmx dispatches afterSettle on the newly swapped elements, so event.target is in the page even
    // after an outerHTML swap.
    doc.addEventListener('htmx:afterSettle', function (event) {
      if (event.target instanceof Element) focusErrorSummary(event.target);
    });

    // The tenant switcher keeps its Switch button for people without the script; with it, choosing an
    // organization is enough.
    doc.addEventListener('change', function (event) {
      const select = event.target;
      if (!select.matches || !select.matches('select[data-autosubmit]') || !select.form) return;
      if (typeof select.form.requestSubmit === 'function') {
        select.form.requestSubmit();
      } else {
        select.form.submit();
      }
    });
  }

  // A table wider than its box scrolls sideways (narrow screens, wide tables): such a box must be reachable
  // by keyboard to scroll it, and say what it holds. Boxes that fit stay out of the tab order.
  function markScrollRegions() {
    doc.querySelectorAll('.table-wrap').forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        wrap.setAttribute('tabindex', '0');
        wrap.setAttribute('role', 'region');
        if (!wrap.hasAttribute('aria-label') && !wrap.hasAttribute('aria-labelledby')) {
          const caption = wrap.querySelector('caption');
          const text = caption ? caption.textContent.trim() : '';
          wrap.setAttribute('aria-label', text || 'Table');
        }
      } else if (wrap.getAttribute('tabindex') === '0') {
        wrap.removeAttribute('tabindex');
        wrap.removeAttribute('role');
      }
    });
  }

  function initScrollRegions() {
    markScrollRegions();
    doc.addEventListener('htmx:afterSettle', markScrollRegions);
    window.addEventListener('resize', markScrollRegions);
  }

  function init() {
    initNav();
    initToasts();
    initForms();
    initScrollRegions();
  }

  if (doc.readyState === 'loading') {
    doc.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
