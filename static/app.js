// Ledgerline's one script. The pages work without it; it adds the phone menu, toasts that come and go,
// focus on error summaries, the tenant switcher's submit on change and the suggestions of the invoice
// list's customer picker. No inline handlers: the Content-Security-Policy allows only scripts with the
// page's nonce.
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

  // ---------------------------------------------------------------- combobox

  // A text input that suggests choices from the server as someone types (the invoice list's customer
  // filter). [data-combobox] holds the suggestions' URL, a hidden input [data-combobox-value] that the
  // form submits, the role="combobox" input (its data-combobox-label is the chosen choice's label) and
  // the role="listbox" the suggestions go in (role="option" items with data-value and data-label).
  // Choosing sets the hidden input and fires its change event, which the filter form listens for.
  // Listeners are on the document, so pages swapped in by htmx (history) need nothing more.
  const COMBOBOX_DELAY_MS = 250;

  function comboParts(input) {
    const box = input.closest('[data-combobox]');
    if (!box) return null;
    const value = box.querySelector('[data-combobox-value]');
    const list = doc.getElementById(input.getAttribute('aria-controls'));
    if (!value || !list) return null;
    return { box: box, input: input, value: value, list: list };
  }

  function comboOptions(parts) {
    return Array.prototype.slice.call(parts.list.querySelectorAll('[role="option"]:not([aria-disabled="true"])'));
  }

  function comboClose(parts) {
    parts.list.hidden = true;
    parts.input.setAttribute('aria-expanded', 'false');
    parts.input.removeAttribute('aria-activedescendant');
  }

  function comboActive(parts) {
    const id = parts.input.getAttribute('aria-activedescendant');
    return id ? doc.getElementById(id) : null;
  }

  function comboSetActive(parts, option) {
    comboOptions(parts).forEach(function (o) {
      o.setAttribute('aria-selected', o === option ? 'true' : 'false');
    });
    if (option) {
      parts.input.setAttribute('aria-activedescendant', option.id);
      option.scrollIntoView({ block: 'nearest' });
    } else {
      parts.input.removeAttribute('aria-activedescendant');
    }
  }

  function comboLoad(parts) {
    const input = parts.input;
    const seq = (input.comboSeq || 0) + 1;
    input.comboSeq = seq;
    const typed = input.value.trim();
    const q = typed === (input.getAttribute('data-combobox-label') || '') ? '' : typed;
    const src = parts.box.getAttribute('data-combobox');
    fetch(src + (src.indexOf('?') < 0 ? '?' : '&') + 'q=' + encodeURIComponent(q), {
      headers: { 'HX-Request': 'true' },
      credentials: 'same-origin'
    })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.text();
      })
      .then(function (html) {
        if (input.comboSeq !== seq || doc.activeElement !== input) return; // a newer request, or gone
        parts.list.innerHTML = html;
        comboSetActive(parts, null);
        parts.list.hidden = false;
        input.setAttribute('aria-expanded', 'true');
      })
      .catch(function () {
        comboClose(parts);
        showToast('error', 'Could not load the suggestions. Try again.');
      });
  }

  function comboChoose(parts, option) {
    const value = option.getAttribute('data-value') || '';
    const label = option.getAttribute('data-label') || '';
    parts.input.value = label;
    parts.input.setAttribute('data-combobox-label', label);
    comboClose(parts);
    if (parts.value.value === value) return;
    parts.value.value = value;
    parts.value.setAttribute('value', value); // kept by htmx's history snapshot
    parts.value.dispatchEvent(new Event('change', { bubbles: true }));
  }

  function initComboboxes() {
    const selector = '[data-combobox] [role="combobox"]';
    doc.addEventListener('input', function (event) {
      const input = event.target;
      if (!input.matches || !input.matches(selector)) return;
      const parts = comboParts(input);
      if (!parts) return;
      clearTimeout(input.comboTimer);
      input.comboTimer = setTimeout(function () {
        comboLoad(parts);
      }, COMBOBOX_DELAY_MS);
    });
    doc.addEventListener('keydown', function (event) {
      const input = event.target;
      if (!input.matches || !input.matches(selector)) return;
      const parts = comboParts(input);
      if (!parts) return;
      const open = !parts.list.hidden;
      const options = comboOptions(parts);
      const active = comboActive(parts);
      const at = options.indexOf(active);
      switch (event.key) {
        case 'ArrowDown':
          event.preventDefault();
          if (!open) comboLoad(parts);
          else comboSetActive(parts, options[Math.min(at + 1, options.length - 1)] || null);
          break;
        case 'ArrowUp':
          if (!open) return;
          event.preventDefault();
          comboSetActive(parts, options[Math.max(at - 1, 0)] || null);
          break;
        case 'Enter':
          if (!open) return; // submits the filters as they are
          event.preventDefault();
          if (active) comboChoose(parts, active);
          else if (options.length === 2) comboChoose(parts, options[1]); // "All customers" and one match
          break;
        case 'Escape':
          if (open) {
            event.preventDefault();
            event.stopPropagation();
            comboClose(parts);
          } else {
            input.value = input.getAttribute('data-combobox-label') || '';
          }
          break;
      }
    });
    // Pressing on a suggestion must not take the focus from the input before the click chooses it.
    doc.addEventListener('mousedown', function (event) {
      if (event.target.closest && event.target.closest('[data-combobox] [role="listbox"]')) event.preventDefault();
    });
    doc.addEventListener('click', function (event) {
      const option = event.target.closest && event.target.closest('[data-combobox] [role="option"]');
      if (!option || option.getAttribute('aria-disabled') === 'true') return;
      const input = option.closest('[data-combobox]').querySelector('[role="combobox"]');
      const parts = input && comboParts(input);
      if (parts) comboChoose(parts, option);
    });
    // Leaving the input: an emptied input means all customers; anything else typed but not chosen goes
    // back to the chosen customer's name.
    doc.addEventListener('focusout', function (event) {
      const input = event.target;
      if (!input.matches || !input.matches(selector)) return;
      const parts = comboParts(input);
      if (!parts) return;
      clearTimeout(input.comboTimer);
      input.comboSeq = (input.comboSeq || 0) + 1; // a late answer must not reopen the list
      comboClose(parts);
      if (input.value.trim() === '' && parts.value.value !== '') {
        comboChoose(parts, parts.list.querySelector('[data-value=""]') || doc.createElement('li'));
      } else {
        input.value = input.getAttribute('data-combobox-label') || '';
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
    initComboboxes();
    initScrollRegions();
  }

  if (doc.readyState === 'loading') {
    doc.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
