/*
 * SDEI table of the bundled 4-CPU board (header only: DEN0054 / ACPI 6.x 5.2.6).
 * Its presence alone tells Linux that firmware implements SDEI (sdei_present_acpi);
 * the conduit comes from the FADT ARM boot flags (see facp.asl).
 * Build: iasl sdei.asl   (iasl fills in Table Length, Checksum and the compiler fields)
 */
[0004]                          Signature : "SDEI"    [Software Delegated Exception Interface Table]
[0004]                       Table Length : 00000000
[0001]                           Revision : 01
[0001]                           Checksum : 00
[0006]                             Oem ID : "SDEIMD"
[0008]                       Oem Table ID : "SDEI4CPU"
[0004]                       Oem Revision : 00000001
[0004]                    Asl Compiler ID : "INTL"
[0004]              Asl Compiler Revision : 00000000
