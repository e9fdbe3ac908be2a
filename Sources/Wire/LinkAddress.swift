// MACAddress lives in the LinkAddress leaf module so that the device
// contract (NetDevice) can name it without depending on the wire formats;
// re-exported here so every `import Wire` user still sees it.
@_exported import LinkAddress
