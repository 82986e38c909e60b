@echo off
rem kubectl's plugin completion (kubectl 1.26+) on Windows: `kubectl redis <TAB>` runs the kubectl_complete-redis
rem that PATH finds (PATHEXT lets this .cmd answer to that name) with the words typed so far, and reads Cobra's
rem format (one candidate a line, then :<directive>). The hidden __complete command of kubectl-redis.exe answers: the
rem one next to this file (krew's bin directory, where krew links it), else the one on PATH. stderr is dropped, as
rem bin/kubectl_complete-redis does on Linux and macOS.
setlocal
set "cli=%~dp0kubectl-redis.exe"
if not exist "%cli%" set "cli=kubectl-redis.exe"
"%cli%" __complete -- %* 2>nul
