/**
 * smp UnetPlusPlus(encoder_name="vgg19", decoder_channels=(256,128,64,32,16)) state_dict table
 * (docs/DESIGN.md §3): encoder `encoder.features.N.*`, decoder `decoder.blocks.x_d_l.conv{1,2}.{0,1}.*`,
 * head `segmentation_head.0.*`. Channel counts follow smp's UnetPlusPlusDecoder construction so
 * that a shrunken encoder (tests) gives the matching shrunken decoder.
 */
export { UNETPP_DECODER_CHANNELS, unetPlusPlusBlocks, unetPlusPlusExpected, type DecoderBlockSpec, type UnetPPSpec } from '../model/architecture';
