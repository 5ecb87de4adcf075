/**
 * The console's only script, served from /console/assets (no inline script, so
 * the CSP needs no nonce). Everything works without it; it adds drag and drop,
 * the live phone preview while a creative is being prepared, and copy buttons.
 */
export const CONSOLE_JS = String.raw`'use strict';
(function () {
  var CTA = { website: 'Visit website', message: 'Send message', call: 'Call' };

  function livePreview(form) {
    var preview = document.querySelector('[data-live-preview]');
    if (!preview) return;
    var media = preview.querySelector('[data-preview-media]');
    var headline = preview.querySelector('[data-preview-headline]');
    var cta = preview.querySelector('[data-preview-cta]');
    var file = form.querySelector('input[type=file]');
    var headlineInput = form.querySelector('[name=headline]');
    var ctaInput = form.querySelector('[name=ctaType]');
    var url = null;

    function showFile() {
      var chosen = file.files && file.files[0];
      if (url) URL.revokeObjectURL(url);
      url = null;
      media.textContent = '';
      if (!chosen) {
        var empty = document.createElement('p');
        empty.className = 'media-empty';
        empty.textContent = 'Your image or video appears here';
        media.appendChild(empty);
        return;
      }
      url = URL.createObjectURL(chosen);
      var label = headlineInput.value || chosen.name;
      var el;
      if (chosen.type.indexOf('video/') === 0) {
        el = document.createElement('video');
        el.controls = true;
        el.muted = true;
        el.loop = true;
        el.playsInline = true;
        el.setAttribute('aria-label', 'Video: ' + label);
      } else {
        el = document.createElement('img');
        el.alt = 'Image: ' + label;
      }
      el.src = url;
      media.appendChild(el);
    }
    function showText() {
      headline.textContent = headlineInput.value || 'Your headline';
      var shown = media.querySelector('img, video');
      var label = headlineInput.value || (file.files && file.files[0] ? file.files[0].name : '');
      if (shown && shown.tagName === 'IMG') shown.alt = 'Image: ' + label;
      else if (shown) shown.setAttribute('aria-label', 'Video: ' + label);
      cta.textContent = CTA[ctaInput.value] || CTA.website;
    }
    file.addEventListener('change', showFile);
    headlineInput.addEventListener('input', showText);
    ctaInput.addEventListener('change', showText);
    if (file.files && file.files.length) showFile();
    showText();
  }

  function dropzone(zone) {
    var input = zone.querySelector('input[type=file]');
    ['dragenter', 'dragover'].forEach(function (type) {
      zone.addEventListener(type, function (e) {
        e.preventDefault();
        zone.classList.add('dragging');
      });
    });
    ['dragleave', 'drop'].forEach(function (type) {
      zone.addEventListener(type, function () {
        zone.classList.remove('dragging');
      });
    });
    zone.addEventListener('drop', function (e) {
      e.preventDefault();
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      input.files = e.dataTransfer.files;
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
  }

  function copyButton(button) {
    var source = document.getElementById(button.getAttribute('data-copy'));
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(
        function () { button.textContent = 'Copied'; },
        function () { button.textContent = 'Copy failed: select the key and copy it'; }
      );
    });
  }

  document.querySelectorAll('[data-upload-form]').forEach(livePreview);
  document.querySelectorAll('[data-dropzone]').forEach(dropzone);
  document.querySelectorAll('[data-copy]').forEach(copyButton);
  var summary = document.querySelector('.error-summary');
  if (summary) summary.focus();
})();
`;
