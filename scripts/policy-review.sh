#!/usr/bin/env bash
# The policy pull-request check: what the pull request does to access, as
# `verdict diff` reports it. .github/workflows/policy-review.yml runs exactly
# this; it runs as well on a developer's machine or in another CI.
#
#   1. history: fetches the base branch and deepens a shallow clone (actions/checkout
#      clones with --depth 1) until the merge base with HEAD is there, so the diff
#      shows the pull request's own changes, not whatever moved on the base since;
#   2. OPA: makes the pinned OPA available (scripts/setup-opa.mjs, as npm install does);
#   3. runs `verdict diff --fail-on <policy> <merge-base> HEAD` into a Markdown report;
#   4. writes the report as the job summary ($GITHUB_STEP_SUMMARY) and, when
#      PR_NUMBER, GITHUB_REPOSITORY and GH_TOKEN are set and `gh` is installed, as
#      a pull-request comment (one comment, updated on every run);
#   5. exits with verdict diff's code: 0 no change (per --fail-on), 1 a change, 2 an error.
#
# Environment (all optional):
#   BASE_REF   base branch (default: $GITHUB_BASE_REF, else main)
#   REMOTE     remote to fetch it from (default: origin)
#   FAIL_ON    any | grants | revokes (default: any)
#   REPORT     where to write the Markdown report (default: policy-review.md)
#   POLICIES   the policies directory in the repository (default: policies)
#   VERDICT    the verdict command (default: node <this project>/dist/cli/verdict.js;
#              word-split, so no spaces inside its parts)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
base_ref=${BASE_REF:-${GITHUB_BASE_REF:-main}}
remote=${REMOTE:-origin}
fail_on=${FAIL_ON:-any}
report=${REPORT:-policy-review.md}
policies=${POLICIES:-policies}
marker='<!-- verdict-policy-review -->'

say () { echo "policy-review: $*" >&2; }

case "$fail_on" in any|grants|revokes) ;; *) say "FAIL_ON must be any, grants or revokes (got \"$fail_on\")"; exit 2 ;; esac
case "$base_ref" in -*|'') say "BASE_REF \"$base_ref\" is not a branch name"; exit 2 ;; esac

# --- 1. history -------------------------------------------------------------
tracking="refs/remotes/$remote/$base_ref"
say "fetching $base_ref from $remote"
git fetch --quiet --no-tags --depth=1 "$remote" "+refs/heads/$base_ref:$tracking" ||
  { say "cannot fetch branch $base_ref from $remote"; exit 2; }

merge_base=''
find_merge_base () { merge_base=$(git merge-base "$tracking" HEAD 2>/dev/null || true); [ -n "$merge_base" ]; }
if ! find_merge_base; then
  # Deepen both histories step by step; a shallow clone lacks the common ancestor.
  for step in 10 50 250 1000; do
    say "no merge base yet: deepening the history by $step commits"
    git fetch --quiet --no-tags --deepen="$step" "$remote" "+refs/heads/$base_ref:$tracking" "$(git rev-parse HEAD)" 2>/dev/null ||
      git fetch --quiet --no-tags --deepen="$step" "$remote" "+refs/heads/$base_ref:$tracking"
    find_merge_base && break
  done
fi
if [ -z "$merge_base" ] && [ "$(git rev-parse --is-shallow-repository)" = true ]; then
  say "no merge base yet: fetching the whole history"
  git fetch --quiet --no-tags --unshallow "$remote" "+refs/heads/$base_ref:$tracking" || true
  find_merge_base || true
fi
if [ -z "$merge_base" ]; then
  say "HEAD and $base_ref share no history; comparing with the tip of $base_ref"
  merge_base=$(git rev-parse "$tracking^{commit}")
fi
say "base: $merge_base (merge base of $remote/$base_ref and HEAD)"

# --- 2. the pinned OPA --------------------------------------------------------
if [ -z "${OPA_BIN:-}" ] && ! { [ -x "$here/.tools/bin/opa" ] && [ -f "$here/.tools/wasm-capabilities.json" ]; }; then
  node "$here/scripts/setup-opa.mjs"
fi

# --- 3. verdict diff ----------------------------------------------------------
read -r -a verdict <<< "${VERDICT:-node $here/dist/cli/verdict.js}"
if [ -z "${VERDICT:-}" ] && [ ! -f "$here/dist/cli/verdict.js" ]; then
  say "$here/dist/cli/verdict.js is missing: run \`npm run build\` first (or set VERDICT)"
  exit 2
fi
code=0
"${verdict[@]}" diff --policies "$policies" --fail-on "$fail_on" --format markdown -o "$report" "$merge_base" HEAD || code=$?
if [ "$code" -ge 2 ] || [ ! -s "$report" ]; then
  say "verdict diff failed (exit $code)"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    printf '## Verdict: policy review failed\n\n`verdict diff` exited %s: see the job log.\n' "$code" >> "$GITHUB_STEP_SUMMARY"
  fi
  exit 2
fi
case "$code" in
  0) say "no access change that --fail-on $fail_on counts" ;;
  *) say "access changes that --fail-on $fail_on counts: see $report" ;;
esac

# --- 4. job summary and pull-request comment -----------------------------------
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$report" >> "$GITHUB_STEP_SUMMARY"
fi
if [ -n "${PR_NUMBER:-}" ] && [ -n "${GITHUB_REPOSITORY:-}" ] && [ -n "${GH_TOKEN:-}" ] && command -v gh >/dev/null 2>&1; then
  comment=$(mktemp)
  trap 'rm -f "$comment"' EXIT
  {
    echo "$marker"
    # GitHub refuses comments over 65536 characters.
    if [ "$(wc -c < "$report")" -gt 60000 ]; then
      head -c 60000 "$report"
      printf '\n\n… the report is longer than a comment may be: the job summary has all of it.\n'
    else
      cat "$report"
    fi
  } > "$comment"
  # One comment per pull request, updated on every push.
  existing=$(gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" \
    --jq ".[] | select(.body | startswith(\"$marker\")) | .id" 2>/dev/null | tail -n 1 || true)
  if [ -n "$existing" ]; then
    gh api --silent -X PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$existing" -F "body=@$comment" ||
      say "could not update the pull-request comment (a fork's token is read-only); the job summary has the report"
  else
    gh api --silent -X POST "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" -F "body=@$comment" ||
      say "could not comment on the pull request (a fork's token is read-only); the job summary has the report"
  fi
else
  say "no pull-request comment (needs PR_NUMBER, GITHUB_REPOSITORY, GH_TOKEN and gh)"
fi

exit "$code"
