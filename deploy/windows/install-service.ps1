<#
.SYNOPSIS
    Installs or upgrades cti-gateway as a Windows service run by the WinSW service wrapper.

.DESCRIPTION
    cti-gateway.exe is a console program: it does not talk to the Windows Service Control
    Manager itself. The service is therefore WinSW (MIT licence,
    https://github.com/winsw/winsw/releases, v2.12.0, file WinSW-x64.exe), which starts
    "cti-gateway.exe run", stops it with Ctrl+C so that it shuts down gracefully, restarts it
    when it fails and writes its log to rolling files. Download WinSW yourself and pass its
    path; this script does not download anything.

    The script
      1. stops the service if it is installed (an upgrade),
      2. copies cti-gateway.exe, WinSW (as cti-gateway-service.exe) and
         cti-gateway-service.xml to -InstallDir,
      3. installs the configuration to %ProgramData%\cti-gateway\gateway.toml (an existing one
         is kept unless -ReplaceConfig) and restricts that directory to Administrators,
         SYSTEM and the service account (LOCAL SERVICE, read only; its log directory
         writable),
      4. checks the configuration with "cti-gateway.exe check-config" and stops if it is
         invalid,
      5. registers the service (first installation only), optionally opens the CSTA ports
         in Windows Firewall, starts the service and waits for /healthz.

    Files the configuration names with relative paths (password_file, certificates, keys)
    belong next to it in %ProgramData%\cti-gateway; copy them there before running the script
    when they are new.

.PARAMETER Binary
    Path of the cti-gateway.exe to install.

.PARAMETER WinSW
    Path of WinSW-x64.exe (WinSW v2.12).

.PARAMETER Config
    A gateway.toml to install. Required on the first installation.

.PARAMETER ReplaceConfig
    Overwrite an installed gateway.toml with -Config.

.PARAMETER InstallDir
    Where the programs go. Default: %ProgramFiles%\cti-gateway.

.PARAMETER OpenFirewall
    Allow inbound TCP connections to -CstaPorts in Windows Firewall.

.PARAMETER CstaPorts
    The CSTA listener ports of the configuration, for -OpenFirewall. Default: 1040, 1041.

.PARAMETER AdminPort
    The port of the [admin] endpoint on 127.0.0.1, used to wait for /healthz. Default: 9090.

.EXAMPLE
    .\install-service.ps1 -Binary .\cti-gateway.exe -WinSW .\WinSW-x64.exe -Config .\gateway.toml -OpenFirewall

.EXAMPLE
    # Upgrade: stop, replace the program, keep the configuration, start.
    .\install-service.ps1 -Binary .\cti-gateway.exe -WinSW .\WinSW-x64.exe
#>
#Requires -Version 5.1
#Requires -RunAsAdministrator
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)] [string] $Binary,
    [Parameter(Mandatory = $true)] [string] $WinSW,
    [string] $Config,
    [switch] $ReplaceConfig,
    [string] $InstallDir = (Join-Path $env:ProgramFiles 'cti-gateway'),
    [switch] $OpenFirewall,
    [int[]] $CstaPorts = @(1040, 1041),
    [int] $AdminPort = 9090
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$ServiceName = 'cti-gateway'
$DataDir = Join-Path $env:ProgramData 'cti-gateway'
$LogDir = Join-Path $DataDir 'logs'
$ConfigPath = Join-Path $DataDir 'gateway.toml'
$Exe = Join-Path $InstallDir 'cti-gateway.exe'
$Wrapper = Join-Path $InstallDir 'cti-gateway-service.exe'
$WrapperXml = Join-Path $InstallDir 'cti-gateway-service.xml'
$XmlSource = Join-Path $PSScriptRoot 'cti-gateway-service.xml'
$FirewallGroup = 'cti-gateway'
# Well-known SIDs, so that the script works on every Windows display language.
$Administrators = '*S-1-5-32-544'
$System = '*S-1-5-18'
$LocalService = '*S-1-5-19'

function Invoke-Checked {
    # Runs a native program and stops the script when it fails.
    param([string] $What, [scriptblock] $Command)
    & $Command
    if ($LASTEXITCODE -ne 0) {
        throw "$What failed with exit code $LASTEXITCODE"
    }
}

foreach ($file in @($Binary, $WinSW, $XmlSource)) {
    if (-not (Test-Path -LiteralPath $file -PathType Leaf)) {
        throw "not found: $file"
    }
}
if ($Config -and -not (Test-Path -LiteralPath $Config -PathType Leaf)) {
    throw "not found: $Config"
}

# 1. An installed service is stopped before its files are replaced.
$existing = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($null -ne $existing -and $existing.Status -ne 'Stopped') {
    Write-Host "Stopping $ServiceName ..."
    Stop-Service -Name $ServiceName
    $existing.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(60))
}

# 2. Programs.
New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
Copy-Item -LiteralPath $Binary -Destination $Exe -Force
Copy-Item -LiteralPath $WinSW -Destination $Wrapper -Force
Copy-Item -LiteralPath $XmlSource -Destination $WrapperXml -Force

# 3. Configuration and logs, readable only by Administrators, SYSTEM and the service.
New-Item -ItemType Directory -Force -Path $LogDir | Out-Null
if ($Config) {
    if ((Test-Path -LiteralPath $ConfigPath) -and -not $ReplaceConfig) {
        Write-Warning "Keeping the installed $ConfigPath (pass -ReplaceConfig to overwrite it)."
    } else {
        Copy-Item -LiteralPath $Config -Destination $ConfigPath -Force
    }
}
if (-not (Test-Path -LiteralPath $ConfigPath -PathType Leaf)) {
    throw "No configuration at ${ConfigPath}: pass -Config (see deploy\config\ for examples)."
}
# The directory stops inheriting from %ProgramData% (where every user may read), everything
# below it inherits the directory's access list, and the service may write its logs.
$grants = @("${Administrators}:(OI)(CI)F", "${System}:(OI)(CI)F", "${LocalService}:(OI)(CI)RX")
Invoke-Checked 'icacls (configuration directory)' { icacls $DataDir /inheritance:r /grant:r $grants /Q }
Invoke-Checked 'icacls (files below it)' { icacls "$DataDir\*" /reset /T /Q }
Invoke-Checked 'icacls (log directory)' { icacls $LogDir /grant "${LocalService}:(OI)(CI)M" /Q }

# 4. Refuse to (re)start with a configuration that the gateway would reject.
Write-Host "Checking $ConfigPath ..."
& $Exe check-config $ConfigPath
if ($LASTEXITCODE -ne 0) {
    throw "The configuration is invalid (see above). Fix $ConfigPath and run this script again."
}

# 5. Register (first installation), firewall, start.
if ($null -eq $existing) {
    Write-Host "Registering the service $ServiceName ..."
    Invoke-Checked 'WinSW install' { & $Wrapper install }
}
# Apply the recovery actions also when the wrapper stops with an error, not only on a crash.
Invoke-Checked 'sc.exe failureflag' { sc.exe failureflag $ServiceName 1 | Out-Null }

if ($OpenFirewall) {
    Get-NetFirewallRule -Group $FirewallGroup -ErrorAction SilentlyContinue | Remove-NetFirewallRule
    New-NetFirewallRule -DisplayName 'cti-gateway CSTA' -Group $FirewallGroup -Direction Inbound `
        -Action Allow -Protocol TCP -LocalPort $CstaPorts -Program $Exe | Out-Null
    Write-Host "Windows Firewall: inbound TCP $($CstaPorts -join ', ') allowed for $Exe."
}

Write-Host "Starting $ServiceName ..."
Start-Service -Name $ServiceName

# The process serves as soon as /healthz answers; /readyz says whether the PBX links are up.
$healthz = "http://127.0.0.1:$AdminPort/healthz"
$healthy = $false
for ($attempt = 0; $attempt -lt 30 -and -not $healthy; $attempt++) {
    try {
        $healthy = (Invoke-WebRequest -Uri $healthz -UseBasicParsing -TimeoutSec 2).StatusCode -eq 200
    } catch {
        Start-Sleep -Seconds 1
    }
}
if ($healthy) {
    Write-Host "$ServiceName is running: $healthz answers."
    Write-Host "Readiness (PBX links up): http://127.0.0.1:$AdminPort/readyz, status page: http://127.0.0.1:$AdminPort/"
} else {
    Write-Warning ("No answer from $healthz within 30 s. If gateway.toml has no [admin] section " +
        "on 127.0.0.1:$AdminPort this is expected; otherwise see $LogDir\cti-gateway-service.err.log.")
}
Write-Host "Logs: $LogDir"
