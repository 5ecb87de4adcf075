/** Labelled form controls that show the API's field errors next to themselves. */
import type { FieldErrors } from '../forms.js';
import { attr, type Content, type Html, html } from './html.js';

interface FieldProps {
  name: string;
  label: string;
  errors?: FieldErrors;
  hint?: string;
}

/** aria-describedby (the hint and the error, when there are) and aria-invalid. */
function described(name: string, errors: FieldErrors | undefined, hint: string | undefined): Content {
  const ids = [hint ? `${name}-hint` : '', errors?.[name] ? `${name}-error` : ''].filter(Boolean).join(' ');
  return [attr('aria-describedby', ids || undefined), attr('aria-invalid', errors?.[name] ? 'true' : undefined)];
}

function extras({ name, errors, hint }: FieldProps): Content {
  return [
    hint && html`<p class="hint" id="${`${name}-hint`}">${hint}</p>`,
    errors?.[name] && html`<p class="field-error" id="${`${name}-error`}">${errors[name].join('; ')}</p>`,
  ];
}

export function textField(
  props: FieldProps & {
    value?: string | number | null;
    type?: string;
    required?: boolean;
    inputmode?: 'text' | 'decimal' | 'numeric' | 'email' | 'url' | 'tel';
    autocomplete?: string;
    maxlength?: number;
  },
): Html {
  const { name, label, value, type = 'text', required, inputmode, autocomplete, maxlength } = props;
  return html`<div class="field">${[
    html`<label for="${name}">${label}</label>`,
    html`<input id="${name}" name="${name}" type="${type}" value="${value ?? ''}"${[
      attr('required', required),
      attr('inputmode', inputmode),
      attr('autocomplete', autocomplete ?? 'off'),
      attr('maxlength', maxlength),
      described(name, props.errors, props.hint),
    ]}/>`,
    extras(props),
  ]}</div>`;
}

export function textArea(props: FieldProps & { value?: string | null; maxlength?: number }): Html {
  const { name, label, value, maxlength } = props;
  return html`<div class="field">${[
    html`<label for="${name}">${label}</label>`,
    html`<textarea id="${name}" name="${name}" rows="3"${[
      attr('maxlength', maxlength),
      described(name, props.errors, props.hint),
    ]}>${value ?? ''}</textarea>`,
    extras(props),
  ]}</div>`;
}

export function selectField(
  props: FieldProps & { value?: string | null; options: [string, string][]; required?: boolean },
): Html {
  const { name, label, value, options, required } = props;
  return html`<div class="field">${[
    html`<label for="${name}">${label}</label>`,
    html`<select id="${name}" name="${name}"${[attr('required', required), described(name, props.errors, props.hint)]}>${options.map(
      ([v, text]) => html`<option value="${v}"${attr('selected', v === (value ?? ''))}>${text}</option>`,
    )}</select>`,
    extras(props),
  ]}</div>`;
}

export function checkboxes(props: FieldProps & { values: string[]; options: [string, string][] }): Html {
  const { name, label, values, options } = props;
  return html`<fieldset class="field"${described(name, props.errors, props.hint)}>${[
    html`<legend>${label}</legend>`,
    options.map(
      ([v, text]) =>
        html`<label class="check"><input type="checkbox" name="${name}" value="${v}"${attr('checked', values.includes(v))}/> ${text}</label>`,
    ),
    extras(props),
  ]}</fieldset>`;
}

/** Lists every error at the top of a form, linked to its field (and all errors that belong to none). */
export function errorSummary({ errors, labels }: { errors: FieldErrors; labels: Record<string, string> }): Content {
  const entries = Object.entries(errors);
  if (entries.length === 0) return null;
  return html`<div class="error-summary" role="alert" tabindex="-1">${[
    html`<h2>There is a problem</h2>`,
    html`<ul>${entries.map(([field, messages]) =>
      field && labels[field]
        ? html`<li><a href="${`#${field}`}">${labels[field]}</a>: ${messages.join('; ')}</li>`
        : messages.map((m) => html`<li>${m}</li>`),
    )}</ul>`,
  ]}</div>`;
}

export function csrfField(token: string): Html {
  return html`<input type="hidden" name="csrf" value="${token}"/>`;
}

export function section({ title, id }: { title: string; id?: string }, content: Content): Html {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-heading`;
  return html`<section aria-labelledby="${headingId}"><h2 id="${headingId}">${title}</h2>${content}</section>`;
}

/**
 * A table that may be wider than the screen: it scrolls in its own box, which takes keyboard focus so the
 * columns off to the side can be reached with the arrow keys (WCAG 2.1.1). The box is not a named region:
 * a name made of the caption would also answer to a field's label (a report's "To", a "Campaign").
 */
export function scrollTable(caption: Content, rows: Content): Html {
  return html`<div class="table-wrap" tabindex="0"><table>${[html`<caption>${caption}</caption>`, rows]}</table></div>`;
}
