/** The console's stylesheet: system fonts only, phone-first, visible focus, no inline styles (CSP). */
export const CONSOLE_CSS = String.raw`
*, *::before, *::after { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.45; color: #1b1f24; background: #f6f7f9; }
body { margin: 0; }
/* A long word (a name, a headline, a web address) wraps rather than widening the page; in a table it only
   wraps where the table would otherwise overflow its box (break-word does not shrink a column's minimum). */
body { overflow-wrap: anywhere; }
table { overflow-wrap: break-word; }
a { color: #0b57b0; }
a:focus-visible, .table-wrap:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible, video:focus-visible {
  outline: 3px solid #f59e0b; outline-offset: 2px;
}
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 8px; z-index: 10; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.top { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; padding: 10px 16px; background: #14213d; color: #fff; }
.top a { color: #fff; }
.brand { margin: 0; font-weight: 700; }
.brand a { text-decoration: none; }
.top nav ul { display: flex; flex-wrap: wrap; gap: 4px 14px; list-style: none; margin: 0; padding: 0; }
.top nav a[aria-current=page] { font-weight: 700; text-decoration-thickness: 3px; }
.who { margin-left: auto; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
main { max-width: 1100px; margin: 0 auto; padding: 16px; }
main:focus { outline: none; }
h1 { font-size: 1.6rem; margin: 0.3em 0 0.6em; }
h2 { font-size: 1.25rem; }
h3 { font-size: 1.05rem; margin: 0 0 8px; }
.stack { display: flex; flex-direction: column; gap: 12px; max-width: 560px; }
.narrow { max-width: 420px; }
.row { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; }
.row > .field { flex: 1 1 200px; }
.split { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.split > form { flex: 1 1 260px; min-width: 0; }
.field > input, .field > select, .field > textarea { width: 100%; min-width: 0; }
.field { display: flex; flex-direction: column; gap: 4px; border: 0; padding: 0; margin: 0; }
fieldset.field legend { font-weight: 600; padding: 0; margin-bottom: 4px; }
label { font-weight: 600; }
label.check { font-weight: 400; display: inline-flex; gap: 6px; align-items: center; margin-right: 14px; }
input, select, textarea { font: inherit; padding: 8px 10px; border: 1px solid #6b7280; border-radius: 6px; background: #fff; color: inherit; max-width: 100%; }
input[type=checkbox] { width: 1.1em; height: 1.1em; }
input[aria-invalid=true], select[aria-invalid=true], textarea[aria-invalid=true] { border: 2px solid #b42318; }
.hint { margin: 0; color: #4b5563; font-size: 0.9rem; }
.field-error { margin: 0; color: #b42318; font-weight: 600; }
.field-error::before { content: "Error: "; }
.error-summary { border: 2px solid #b42318; border-radius: 8px; padding: 8px 14px; background: #fff; }
.error-summary h2 { margin: 4px 0; font-size: 1.1rem; color: #b42318; }
.notice { border-left: 5px solid #1a7335; background: #e8f5ec; padding: 8px 12px; }
button, .button { font: inherit; font-weight: 600; cursor: pointer; padding: 8px 14px; border-radius: 6px; border: 2px solid #0b57b0; background: #0b57b0; color: #fff; text-decoration: none; display: inline-block; }
button.secondary { background: #fff; color: #0b57b0; }
.top button.secondary { border-color: #fff; }
button.danger { background: #b42318; border-color: #b42318; }
form.inline { display: inline-flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 0; }
.actions { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; }
.table-wrap { overflow-x: auto; position: relative; }
table { border-collapse: collapse; width: 100%; background: #fff; }
caption { text-align: left; font-weight: 600; padding: 6px 0; }
th, td { text-align: left; padding: 8px; border-bottom: 1px solid #d1d5db; vertical-align: middle; }
thead th { background: #eef1f5; }
.spend { display: inline-flex; flex-direction: column; gap: 2px; }
meter { width: 90px; max-width: 100%; }
.summary { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0 0 12px; }
.summary dt { font-weight: 600; }
.summary dd { margin: 0; overflow-wrap: anywhere; }
.dropzone { border: 2px dashed #6b7280; border-radius: 10px; padding: 12px; background: #fff; }
.dropzone.dragging { border-color: #0b57b0; background: #eaf2fd; }
.creatives { display: flex; flex-wrap: wrap; gap: 20px; }
.creative { background: #fff; border: 1px solid #d1d5db; border-radius: 10px; padding: 12px; width: 300px; max-width: 100%; }
.review-pending strong { color: #8a5a00; }
.review-approved strong { color: #1a7335; }
.review-rejected strong { color: #b42318; }
.warning { color: #8a5a00; }
.review-item { background: #fff; border: 1px solid #d1d5db; border-radius: 10px; padding: 12px; margin-bottom: 16px; }
.review-media img, .review-media video { display: block; max-width: 100%; max-height: 360px; background: #000; border-radius: 6px; }
.review-actions { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; }
.new-key { border: 2px solid #1a7335; background: #e8f5ec; border-radius: 8px; padding: 8px 14px; margin-bottom: 16px; }
.key-row { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.key-row code { background: #fff; padding: 6px 8px; border-radius: 4px; overflow-wrap: anywhere; font-size: 0.95rem; }

/* The phone: a 9:16 screen, the sponsored status between two placeholder statuses. */
.phone { margin: 0; width: 270px; max-width: 100%; }
.phone .screen { aspect-ratio: 9 / 16; border: 10px solid #111827; border-radius: 28px; background: #0f172a; color: #fff; display: flex; flex-direction: column; gap: 6px; padding: 8px; overflow: hidden; }
.phone .status { flex: 0 0 auto; display: flex; gap: 8px; align-items: center; background: #334155; border-radius: 10px; padding: 8px; font-size: 0.8rem; color: #e5e7eb; }
.phone .avatar { width: 22px; height: 22px; border-radius: 50%; background: #94a3b8; flex: none; }
.phone .ad { flex: 1 1 auto; min-height: 0; display: flex; flex-direction: column; gap: 4px; background: #1e293b; border-radius: 10px; padding: 6px; }
.phone .sponsored { margin: 0; font-size: 0.7rem; text-transform: uppercase; letter-spacing: 0.05em; color: #e5e7eb; }
.phone .media { flex: 1 1 auto; min-height: 0; display: flex; align-items: center; justify-content: center; background: #000; border-radius: 6px; overflow: hidden; }
.phone .media img, .phone .media video { max-width: 100%; max-height: 100%; object-fit: contain; display: block; }
.phone .media-empty { margin: 0; padding: 8px; text-align: center; font-size: 0.8rem; color: #e5e7eb; }
.phone .card { font-size: 0.75rem; }
.phone .card p { margin: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.phone .card-name { font-weight: 700; font-size: 0.85rem; }
.phone .headline { margin: 0; font-weight: 700; font-size: 0.9rem; }
.phone .cta { display: block; text-align: center; background: #25d366; color: #0b1f12; font-weight: 700; border-radius: 16px; padding: 5px; font-size: 0.85rem; }
.phone figcaption { text-align: center; font-size: 0.85rem; color: #4b5563; margin-top: 4px; }

.chart { width: 100%; max-width: 760px; height: auto; background: #fff; border: 1px solid #d1d5db; border-radius: 8px; }
.chart-label { font-size: 14px; font-weight: 600; fill: #1b1f24; }
.chart-tick { font-size: 11px; fill: #374151; }
.report-form { align-items: flex-start; }
.report-form .error-summary { flex-basis: 100%; }
.report-form button { align-self: flex-end; margin-bottom: 22px; }
@media (max-width: 480px) {
  main { padding: 10px; }
  th, td { padding: 6px 4px; font-size: 0.9rem; }
  .actions { gap: 6px; }
  .who { margin-left: 0; }
  .phone { width: 100%; max-width: 300px; }
}
`;
