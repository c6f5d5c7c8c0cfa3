<#
.SYNOPSIS
    Removes the cti-gateway Windows service installed by install-service.ps1.

.DESCRIPTION
    Stops the service, unregisters it through its WinSW wrapper (or sc.exe when the wrapper
    is gone), removes the firewall rule and the program directory. The configuration and the
    logs in %ProgramData%\cti-gateway stay unless -RemoveData is given.

.PARAMETER InstallDir
    Where install-service.ps1 put the programs. Default: %ProgramFiles%\cti-gateway.

.PARAMETER RemoveData
    Also delete %ProgramData%\cti-gateway (configuration, secrets, logs).

.EXAMPLE
    .\uninstall-service.ps1
#>
#Requires -Version 5.1
#Requires -RunAsAdministrator
[CmdletBinding()]
param(
    [string] $InstallDir = (Join-Path $env:ProgramFiles 'cti-gateway'),
    [switch] $RemoveData
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$ServiceName = 'cti-gateway'
$DataDir = Join-Path $env:ProgramData 'cti-gateway'
$Wrapper = Join-Path $InstallDir 'cti-gateway-service.exe'

$service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($null -ne $service) {
    if ($service.Status -ne 'Stopped') {
        Write-Host "Stopping $ServiceName ..."
        Stop-Service -Name $ServiceName
        $service.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(60))
    }
    Write-Host "Unregistering $ServiceName ..."
    if (Test-Path -LiteralPath $Wrapper -PathType Leaf) {
        & $Wrapper uninstall
    } else {
        sc.exe delete $ServiceName
    }
    if ($LASTEXITCODE -ne 0) {
        throw "unregistering the service failed with exit code $LASTEXITCODE"
    }
} else {
    Write-Host "No service $ServiceName is installed."
}

Get-NetFirewallRule -Group 'cti-gateway' -ErrorAction SilentlyContinue | Remove-NetFirewallRule

if (Test-Path -LiteralPath $InstallDir) {
    Remove-Item -LiteralPath $InstallDir -Recurse -Force
    Write-Host "Removed $InstallDir."
}
if ($RemoveData) {
    if (Test-Path -LiteralPath $DataDir) {
        Remove-Item -LiteralPath $DataDir -Recurse -Force
        Write-Host "Removed $DataDir."
    }
} else {
    Write-Host "Kept the configuration and logs in $DataDir (pass -RemoveData to delete them)."
}
