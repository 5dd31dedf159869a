import type { ReactNode } from "react";
import type { QaReport as QaReportData } from "../../convex/shared/validators.js";

/** A run's deliverable QA, check by check: which passed, which failed and why, which are missing. */
export function QaReport({ qa }: { qa: QaReportData | undefined }): ReactNode {
  if (!qa) return <p className="lk-empty">No QA report yet: it is written when the run's deliverables are checked.</p>;
  return (
    <div className="lk-qa" data-ok={qa.ok}>
      <p>
        <strong>{qa.ok ? "Passed" : "Failed"}</strong> — {qa.summary}
      </p>
      {qa.checks.length > 0 ? (
        <table className="lk-table">
          <thead>
            <tr>
              <th scope="col">Deliverable</th>
              <th scope="col">Check</th>
              <th scope="col">Result</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {qa.checks.map((c, i) => (
              <tr key={i} data-ok={c.ok}>
                <td>{c.deliverable}</td>
                <td>{c.check}</td>
                <td>{c.ok ? "pass" : "fail"}</td>
                <td>{c.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {qa.missing.length > 0 ? <p>Missing: {qa.missing.join(", ")}</p> : null}
      {qa.produced.length > 0 ? <p>Produced: {qa.produced.join(", ")}</p> : null}
    </div>
  );
}
