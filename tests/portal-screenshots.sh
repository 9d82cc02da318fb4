#!/usr/bin/env bash
# Refreshes docs/portal/*.png: runs the portal's browser tests (Debian's chromium), which save a screenshot of each page they visit.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build tests/Verification.Portal.Tests -c Release -nologo -v q
VERIFICATION_PORTAL_SCREENSHOTS="$PWD/docs/portal" dotnet test tests/Verification.Portal.Tests -c Release --no-build -nologo
ls docs/portal
