#!/bin/sh
# Creates ./leaky-repo: a tiny git repository with a FAKE, clearly marked training token in its
# history (added in one commit, "removed" in the next). The token is not a credential for
# anything; it exists only for the Palisade CTF challenge "secrets-history".
set -eu
dir=${1:-leaky-repo}
if [ -e "$dir" ]; then
  echo "$dir already exists; remove it or give another directory" >&2
  exit 1
fi
mkdir -p "$dir/config"
cd "$dir"
git init -q
git config user.name "CTF Author"
git config user.email "ctf@example.invalid"
export GIT_AUTHOR_DATE="2026-01-05T10:00:00Z" GIT_COMMITTER_DATE="2026-01-05T10:00:00Z"
printf '# Payments service\n\nSettings live in config/settings.env.\n' > README.md
printf 'PAYMENTS_URL=https://payments.example.invalid\nPAYMENTS_TIMEOUT=30\n' > config/settings.env
git add . && git commit -q -m "Initial commit"
export GIT_AUTHOR_DATE="2026-01-06T16:20:00Z" GIT_COMMITTER_DATE="2026-01-06T16:20:00Z"
printf '# FAKE training token for the Palisade CTF: not a real credential\npayments_api_key = "ctf_FAKE_palisade_h1st0ry_n3v3r_f0rg3ts_7Qm2"\n' >> config/settings.env  # palisade:allow: the challenge's planted fake token, found by players in the repository this script builds
git add . && git commit -q -m "Make the payments call work locally"
export GIT_AUTHOR_DATE="2026-01-06T16:25:00Z" GIT_COMMITTER_DATE="2026-01-06T16:25:00Z"
printf 'PAYMENTS_URL=https://payments.example.invalid\nPAYMENTS_TIMEOUT=30\n' > config/settings.env
git add . && git commit -q -m "Oops, remove the key"
echo "created $dir: now try palisade scan secrets --git --all $dir"
