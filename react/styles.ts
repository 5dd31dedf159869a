/**
 * The dashboard's built-in stylesheet (rendered in a `<style>` unless `unstyled`). Every rule is under
 * `.lk-dashboard` and every class starts with `lk-`, so it styles nothing of the host page. Colors come
 * from custom properties an app may override; columns stack at phone widths (≤ 420 px).
 */
export const LAKITU_STYLES = `
.lk-dashboard{--lk-bg:#f6f7f9;--lk-panel:#fff;--lk-fg:#1c2230;--lk-muted:#5b6474;--lk-line:#d9dde5;--lk-accent:#2457c5;--lk-danger:#b42318;--lk-ok:#157f3b;--lk-warn:#9a6700;--lk-focus:#ffbf47;
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--lk-fg);background:var(--lk-bg);padding:12px;box-sizing:border-box;min-height:100%}
.lk-dashboard *,.lk-dashboard *::before,.lk-dashboard *::after{box-sizing:inherit}
.lk-dashboard h1{font-size:1.3rem;margin:0}
.lk-dashboard h2{font-size:1.05rem;margin:0}
.lk-dashboard h3{font-size:.95rem;margin:0 0 6px}
.lk-dashboard button,.lk-dashboard input,.lk-dashboard select,.lk-dashboard textarea{font:inherit;color:inherit}
.lk-dashboard button{cursor:pointer;border:1px solid var(--lk-accent);background:var(--lk-accent);color:#fff;border-radius:6px;padding:5px 12px;min-height:32px}
.lk-dashboard button:disabled{opacity:.55;cursor:default}
.lk-dashboard button.lk-secondary{background:var(--lk-panel);color:var(--lk-accent)}
.lk-dashboard button.lk-danger{background:var(--lk-panel);color:var(--lk-danger);border-color:var(--lk-danger)}
.lk-dashboard button.lk-link{background:none;border:none;color:var(--lk-accent);padding:2px 4px;text-decoration:underline;min-height:0}
.lk-dashboard :focus-visible{outline:3px solid var(--lk-focus);outline-offset:2px}
.lk-dashboard input,.lk-dashboard select,.lk-dashboard textarea{border:1px solid var(--lk-line);border-radius:6px;padding:5px 8px;background:#fff;max-width:100%}
.lk-dashboard textarea{width:100%}
.lk-dashboard a{color:var(--lk-accent)}
.lk-dashboard pre{white-space:pre-wrap;word-break:break-word;background:#f0f2f5;border-radius:6px;padding:6px 8px;margin:4px 0;max-height:28em;overflow:auto;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
.lk-notice{background:#fff8e1;border:1px solid #f0d58a;border-radius:6px;padding:6px 10px;margin-bottom:10px}
.lk-bar{display:flex;align-items:center;gap:10px;flex-wrap:wrap;margin-bottom:10px}
.lk-bar h1,.lk-bar h2{flex:1 1 auto;min-width:0;overflow-wrap:anywhere}
.lk-muted,.lk-empty{color:var(--lk-muted)}
.lk-empty{font-style:italic;margin:4px 0}
.lk-note{color:var(--lk-warn);margin:4px 0}
.lk-problem{color:var(--lk-danger);margin:4px 0}
.lk-error{background:#fdecea;border:1px solid #f5c2bd;color:var(--lk-danger);border-radius:6px;padding:6px 10px;margin:6px 0}
.lk-error code{font-weight:600}
.lk-form{display:grid;gap:4px;background:var(--lk-panel);border:1px solid var(--lk-line);border-radius:8px;padding:10px;margin:8px 0;max-width:640px}
.lk-form label{font-weight:600;margin-top:4px}
.lk-stage-fields{border:1px solid var(--lk-line);border-radius:6px;display:grid;gap:4px;padding:8px}
.lk-row{display:flex;gap:6px;align-items:center;flex-wrap:wrap}
.lk-actions{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0}
.lk-layout{display:flex;gap:12px;align-items:flex-start}
.lk-main{flex:1 1 auto;min-width:0}
.lk-board{display:flex;gap:10px;overflow-x:auto;padding-bottom:6px}
.lk-column{flex:1 0 200px;max-width:300px;background:#eceff3;border-radius:8px;padding:8px;min-height:120px}
.lk-column-title{display:flex;justify-content:space-between;margin-bottom:6px}
.lk-count{color:var(--lk-muted);font-weight:400}
.lk-cards,.lk-board-list,.lk-artifact-list,.lk-live-list,.lk-plan,.lk-timeline,.lk-transcript ol,.lk-notes{list-style:none;margin:0;padding:0}
.lk-cards>li{margin-bottom:6px}
.lk-card-open{display:block;width:100%;text-align:left;background:var(--lk-panel)!important;color:var(--lk-fg)!important;border:1px solid var(--lk-line)!important;border-radius:8px;padding:8px 10px}
.lk-card.lk-selected .lk-card-open{border-color:var(--lk-accent)!important;box-shadow:0 0 0 1px var(--lk-accent)}
.lk-card-title{display:block;font-weight:600;overflow-wrap:anywhere}
.lk-card-meta{display:flex;gap:6px;align-items:center;flex-wrap:wrap;margin-top:4px;font-size:12px}
.lk-status{display:inline-block;border-radius:10px;padding:0 8px;background:#e4e7ec;font-size:12px}
.lk-status[data-status=running],.lk-status[data-status=queued],.lk-status[data-status=provisioning]{background:#dbe7ff;color:#1d3f8f}
.lk-status[data-status=done],.lk-status[data-status=succeeded]{background:#dcf5e4;color:var(--lk-ok)}
.lk-status[data-status=error],.lk-status[data-status=blocked],.lk-status[data-status=failed]{background:#fde2e0;color:var(--lk-danger)}
.lk-status[data-status=paused],.lk-status[data-status=awaiting_review]{background:#fff1c9;color:var(--lk-warn)}
.lk-live{color:#fff;background:var(--lk-danger);border-radius:10px;padding:0 7px;font-weight:600;animation:lk-pulse 1.6s ease-in-out infinite}
@keyframes lk-pulse{50%{opacity:.6}}
@media (prefers-reduced-motion:reduce){.lk-live{animation:none}}
.lk-panel{flex:0 0 min(560px,48%);background:var(--lk-panel);border:1px solid var(--lk-line);border-radius:8px;padding:10px 12px;max-height:calc(100vh - 40px);overflow:auto;position:sticky;top:8px}
.lk-panel:focus{outline:none}
.lk-section{border-top:1px solid var(--lk-line);padding:8px 0}
.lk-console{list-style:none;margin:0;padding:0;max-height:32em;overflow:auto;font-size:13px}
.lk-ev{border-left:3px solid transparent;padding:2px 6px;margin:2px 0}
.lk-level-warn{border-left-color:var(--lk-warn)}
.lk-level-error{border-left-color:var(--lk-danger)}
.lk-ev-tag{display:inline-block;font-size:11px;text-transform:uppercase;letter-spacing:.03em;color:var(--lk-muted);margin-right:4px}
.lk-dashboard .lk-prose{white-space:pre-wrap;margin:2px 0;background:none;padding:0;font:inherit;max-height:none}
.lk-gap{color:var(--lk-warn);margin:2px 0}
.lk-table{border-collapse:collapse;width:100%;font-size:13px}
.lk-table th,.lk-table td{border:1px solid var(--lk-line);padding:3px 6px;text-align:left;vertical-align:top}
.lk-table tr[data-ok=false] td{color:var(--lk-danger)}
.lk-scroll{overflow:auto;max-height:30em}
.lk-preview{border:1px solid var(--lk-line);border-radius:6px;padding:8px;margin-top:6px}
.lk-preview-head{display:flex;gap:8px;align-items:baseline;flex-wrap:wrap;margin-bottom:6px}
.lk-pdf{width:100%;height:60vh;border:0}
.lk-image{max-width:100%;height:auto}
.lk-md{overflow-wrap:anywhere}
.lk-json ul{list-style:none;margin:0;padding-left:16px}
.lk-json-key{color:#6f42c1}
.lk-json-string{color:#0a7d3b}
.lk-json-number{color:#1d4ed8}
.lk-timeline li,.lk-live-list li,.lk-plan li{padding:3px 0;border-bottom:1px dashed var(--lk-line)}
.lk-msg{margin:4px 0}
.lk-run-picker{display:block;margin:6px 0}
@media (max-width:900px){.lk-layout{flex-direction:column}.lk-panel{flex-basis:auto;width:100%;max-height:none;position:static}}
@media (max-width:420px){.lk-dashboard{padding:6px}.lk-board{flex-direction:column;overflow-x:visible}.lk-column{flex-basis:auto;width:100%;min-height:0}.lk-form{padding:8px}}
`;
